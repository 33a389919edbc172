//===- RunPipeline.cpp - Running a named pipeline on a module -------------===//

#include "RunPipeline.h"

#include "mlir/Pass/PassManager.h"

using namespace mlir;

LogicalResult tessera::runPipeline(ModuleOp module, StringRef name,
                                   function_ref<void(OpPassManager &)> build,
                                   const std::string &crashReproducer,
                                   std::string &error) {
  auto pm = PassManager::on<ModuleOp>(module.getContext());
  build(pm);
  if (!crashReproducer.empty())
    pm.enableCrashReproducerGeneration(crashReproducer);
  if (succeeded(pm.run(module)))
    return success();
  llvm::raw_string_ostream os(error);
  os << "note: while running the " << name << " pipeline: ";
  pm.printAsTextualPipeline(os);
  os << "\n";
  if (!crashReproducer.empty())
    os << "note: reproducer written to " << crashReproducer
       << " (replay: tessera-opt --run-reproducer " << crashReproducer
       << ")\n";
  return failure();
}
