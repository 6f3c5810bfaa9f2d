"""Where a result came from: the code commit of the checkout that ran it."""
import subprocess
from typing import Optional

__all__ = ['code_commit']


def code_commit(repo: str) -> Optional[str]:
    """The commit of the checkout ``repo``, with ``+dirty`` when tracked files have
    uncommitted changes; None outside a git checkout (e.g. an unpacked archive)."""
    try:
        head = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=repo, capture_output=True,
                              text=True, timeout=30, check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                               cwd=repo, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ('+dirty' if dirty.strip() else '')
