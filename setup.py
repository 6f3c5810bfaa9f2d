"""mask3d_mm: Mask3D RGB-D pre-training for MMPretrain / MMSegmentation / MMDetection."""
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name: str) -> list:
    """Requirement lines of ``requirements/<name>.txt`` (comments dropped)."""
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def read_version() -> str:
    with open(osp.join(HERE, 'mask3d_mm', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


# torch is not declared (as in mmcv/mmpretrain): an unpinned `torch` would pull a multi-GB CUDA
# build. tools/install.sh installs the pinned torch and builds mmcv with ops against it.
extras = {
    'seg': read_requirements('seg'),
    'det': read_requirements('det'),
    'tests': read_requirements('tests'),
    'tensorboard': read_requirements('tensorboard'),  # tools/train.py --vis-backend tensorboard
}
extras['all'] = sorted({r for reqs in extras.values() for r in reqs})

setup(
    name='mask3d_mm',
    version=read_version(),
    description='Mask3D: pre-training 2D ViTs with masked 3D priors, for OpenMMLab 2.x',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mask3d_mm', 'mask3d_mm.*']),
    python_requires='>=3.10',
    install_requires=read_requirements('runtime') + ['mmcv>=2.0.0rc4,<2.2.0'],
    extras_require=extras,
    license='Apache-2.0',
    zip_safe=False,
)
