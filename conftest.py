"""sktune/export/_onnx.py imports skl2onnx (the ``onnx`` extra): without it installed,
pytest's doctest collection of the package leaves that module out (tests/export skip)."""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("skl2onnx") else ["sktune/export/_onnx.py"]
