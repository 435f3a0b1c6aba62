# The native module (src/python.rs). Arrays travel as little-endian C-order bytes; the
# public API in argva/__init__.py converts them.
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

__version__: str

_Features = Union[Tuple[int, int, bytes], Tuple[int, int, bytes, bytes, bytes], None]
_Device = Union[int, str, None]

def fit(
    edges: bytes,
    num_nodes: Optional[int],
    x: _Features,
    y: Optional[bytes],
    name: str,
    settings_json: str,
    device: _Device,
    on_event: Optional[Callable[[str, int, Dict[str, Any]], None]],
    resume: Optional[bytes],
    checkpoint_dir: Optional[str],
) -> Dict[str, Any]: ...
class RunFolder:
    def write(self, folder: str, embedding: bytes) -> List[str]: ...

def embed(
    checkpoint: bytes,
    edges: bytes,
    num_nodes: Optional[int],
    x: _Features,
    device: _Device,
) -> bytearray: ...
def dataset(spec: str, root: Optional[str], download: bool) -> Dict[str, Any]: ...
def devices() -> List[Dict[str, Any]]: ...
def doctor(device: _Device = None) -> str: ...
def defaults() -> str: ...
def config(settings_json: str) -> str: ...
def write_file(path: str, data: bytes) -> None: ...
def main(argv: List[str]) -> int: ...
