from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .fsdp_wrap_policy import transformer_block_wrap_policy  # noqa: F401
from .strategies import DCPFSDPStrategy  # noqa: F401
