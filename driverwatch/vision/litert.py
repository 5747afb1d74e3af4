"""A thin wrapper around the LiteRT interpreter (ai-edge-litert, else tflite-runtime)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

import numpy as np

from driverwatch.errors import ConfigError


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise ConfigError("no LiteRT runtime: pip install ai-edge-litert (or tflite-runtime)") from None
    return Interpreter


@contextlib.contextmanager
def _native_stderr_quiet():
    """Silence the runtime's native start-up chatter ("INFO: Created TensorFlow Lite XNNPACK delegate")
    on fd 2, unless debugging: a CLI error must stay one line. Python exceptions are unaffected."""
    if logging.getLogger("driverwatch").isEnabledFor(logging.DEBUG):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class Model:
    """One .tflite model with a single float input. `outputs` maps output name -> tensor index.
    `path` is a .tflite file, or (name, bytes) for a model read from a bundle."""

    def __init__(self, path: Path | tuple[str, bytes], num_threads: int = 2, batch: int = 1):
        try:
            with _native_stderr_quiet():
                if isinstance(path, tuple):
                    path, content = path
                    self.interp = _interpreter_class()(model_content=content, num_threads=num_threads)
                else:
                    self.interp = _interpreter_class()(model_path=str(path), num_threads=num_threads)
                inp = self.interp.get_input_details()[0]
                self.input_index = inp["index"]
                if batch != 1:
                    self.interp.resize_tensor_input(self.input_index, [batch, *inp["shape"][1:]])
                self.interp.allocate_tensors()
        except ValueError as err:
            raise ConfigError(f"cannot load model {path}: {err}") from None
        self.input_shape = tuple(self.interp.get_input_details()[0]["shape"])
        self.outputs = {d["name"]: d["index"] for d in self.interp.get_output_details()}

    def set_input(self, k: int, image: np.ndarray, scale: float, offset: float = 0.0) -> None:
        """Write uint8 `image` * scale + offset as batch item k straight into the input tensor."""
        buf = self.interp.tensor(self.input_index)()[k]
        np.multiply(image, np.float32(scale), out=buf, casting="unsafe")
        if offset:
            buf += np.float32(offset)
        del buf  # LiteRT refuses to invoke while views of its buffers are alive

    def invoke(self) -> dict[str, np.ndarray]:
        self.interp.invoke()
        return {name: self.interp.get_tensor(i) for name, i in self.outputs.items()}
