"""Replication pack for Ferrando et al., "Do I Know This Entity?" (ICLR 2025). The pack is registered in ``plugin``."""

__version__ = "0.1.0"
