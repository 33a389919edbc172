# lit configuration of the Tessera test suites.
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "Tessera"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.tessera_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "python", "Unit",
                   "fuzz"]

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.tessera_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(
    ["tessera-opt", "tessera-run"], [config.tessera_tools_dir])
llvm_config.add_tool_substitutions(["FileCheck", "not", "count"], [config.llvm_tools_dir])
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%tessera_src", config.tessera_src_root))
config.substitutions.append(("%tessera_obj", config.tessera_obj_root))

# The CUDA toolkit's ptxas and fatbinary (gpu-module-to-binary finds them on
# PATH or in /usr/local/cuda): tests that assemble GPU code need them.
import shutil
_cuda_bin = os.path.join(os.environ.get("CUDA_ROOT", "/usr/local/cuda"), "bin")
_ptxas = shutil.which("ptxas") or shutil.which("ptxas", path=_cuda_bin)
if _ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", _ptxas))
