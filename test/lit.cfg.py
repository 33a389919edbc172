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
