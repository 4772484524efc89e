from tests.fixtures import single_torch_thread

__all__ = ["single_torch_thread"]  # an autouse fixture for every test in this folder
