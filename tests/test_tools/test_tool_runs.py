"""mask3d_mm.tooling.tool_runs: the one child-process runner and the one ``read_scalars``."""
import json
import os
import os.path as osp
import subprocess
import time

import pytest

from mask3d_mm.tooling import read_scalars, run_script
from mask3d_mm.tooling.tool_runs import command_line


def _log(work_dir: str, run: str, records: list) -> None:
    os.makedirs(osp.join(work_dir, run, 'vis_data'))
    with open(osp.join(work_dir, run, 'vis_data', 'scalars.json'), 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in records)


def test_read_scalars_joins_a_run_and_its_resume(tmp_path):
    work_dir = str(tmp_path)
    with pytest.raises(FileNotFoundError, match='no scalars.json'):
        read_scalars(work_dir)
    train = [dict(loss=1.0 / i, lr=0.1, iter=i, step=i) for i in (1, 2, 3)]
    _log(work_dir, '20260101_000000', [*train, dict(mIoU=5.0, step=2)])  # killed after 3
    resumed = [dict(loss=0.4, lr=0.2, iter=i, step=i) for i in (3, 4)]  # from iteration 2
    _log(work_dir, '20260101_000100', [*resumed, dict(mIoU=7.0, step=4)])
    records = read_scalars(work_dir)
    assert [(r['step'], r.get('loss', r.get('mIoU'))) for r in records] == [
        (1, 1.0), (2, 0.5), (3, 0.4), (2, 5.0), (4, 0.4), (4, 7.0)]
    assert [r['iter'] for r in records if 'loss' in r] == [1, 2, 3, 4]


def test_run_script_echoes_fails_and_times_out(tmp_path, capsys):
    repo = str(tmp_path)
    script = osp.join(repo, 'tools', 'a b.py')
    assert command_line(repo, [script, f'x={repo}/data']) == "python 'tools/a b.py' x=data"
    run_script(repo, '-c', 'print("hello")', quiet=True)
    assert capsys.readouterr().out == "$ python -c 'print(\"hello\")'\n"
    with pytest.raises(subprocess.CalledProcessError):
        run_script(repo, '-c', 'raise SystemExit(3)', echo=False)
    start = time.time()
    with pytest.raises(subprocess.TimeoutExpired):
        run_script(repo, '-c', 'import time; time.sleep(60)', echo=False, timeout=1)
    assert time.time() - start < 30  # killed, not waited for
