from .dcp_fsdp_strategy import DCPFSDPStrategy

__all__ = ['DCPFSDPStrategy']
