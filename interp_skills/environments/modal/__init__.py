"""The ``modal`` environment: sessions whose tool calls run in a Modal GPU container.

=================  ==============================================================
``gpus``           GPU types, the price table (``gpu_prices.toml``), ``--gpu`` parsing
``settings``       ``ModalSettings`` (``INTERP_SKILLS_MODAL_*``)
``credentials``    is a Modal token configured; the Hugging Face secret message
``image``          the container image as data: pins, local sources, plugin modules
``plan``           downloads, memory, cost and the ``--dry-run`` text
``app``            the Modal objects (App, image, Volume, Secret, ``Worker``); imports ``modal``
``worker``         what runs in the container (a ``Session`` per container)
``client``         connecting to Modal, forwarding calls, translating Modal's errors
``environment``    the registered ``Environment``: open, plan, replicate, plan_replicate
=================  ==============================================================

Only ``app`` imports ``modal`` at import time, and only ``worker`` (when a tool runs) torch.
"""
