//===- tessera-compile.cpp - Ahead-of-time compiler driver ----------------===//
//
//   tessera-compile model.mlir -o libmodel.so --header model.h
//
// Compiles every public function of a module into a shared library of plain
// C functions (and, with --header, the C header that declares them).
//
//===----------------------------------------------------------------------===//

#include "tessera/Pipelines/Registration.h"
#include "tessera/Target/AotCompiler.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory category("tessera-compile options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::Required, cl::cat(category));
static cl::opt<std::string> outputFile("o", cl::desc("Output file"),
                                       cl::value_desc("path"), cl::Required,
                                       cl::cat(category));
static cl::opt<std::string>
    headerFile("header", cl::desc("Also write the C header of the library"),
               cl::value_desc("path"), cl::cat(category));
static cl::opt<std::string> target(
    "target",
    cl::desc("What to compile for: host (default: this machine's CPU and "
             "features), an LLVM CPU name such as x86-64, x86-64-v2, "
             "x86-64-v3, x86-64-v4, skylake-avx512, znver4, or "
             "cuda:<arch> for an NVIDIA GPU (cuda:sm_80, cuda:sm_89, "
             "cuda:sm_90, cuda:sm_90a; kernels embedded as a fatbin, host "
             "code for x86-64)"),
    cl::init("host"), cl::cat(category));
static cl::opt<unsigned> optLevel(
    "O", cl::desc("Optimization level of LLVM, 0 to 3 (default 3)"),
    cl::Prefix, cl::init(3), cl::cat(category));
static cl::opt<mlir::tessera::AotOptions::Emit> emit(
    "emit", cl::desc("What to write to -o"),
    cl::values(
        clEnumValN(mlir::tessera::AotOptions::Emit::MLIR, "mlir",
                   "the module lowered to the LLVM dialect"),
        clEnumValN(mlir::tessera::AotOptions::Emit::LLVM, "llvm",
                   "optimized LLVM IR, with the C entry points"),
        clEnumValN(mlir::tessera::AotOptions::Emit::Object, "obj",
                   "an object file"),
        clEnumValN(mlir::tessera::AotOptions::Emit::SharedLibrary, "so",
                   "a shared library (default)"),
        clEnumValN(mlir::tessera::AotOptions::Emit::PTX, "ptx",
                   "the PTX of the kernels (--target=cuda:<arch> only)")),
    cl::init(mlir::tessera::AotOptions::Emit::SharedLibrary),
    cl::cat(category));
static cl::opt<std::string>
    dumpDir("dump-dir",
            cl::desc("Keep every stage here: 0-input.mlir, 1-lowered.mlir, "
                     "2-module.ll, 3-module.o"),
            cl::value_desc("dir"), cl::cat(category));
static cl::opt<std::string> prefix(
    "prefix",
    cl::desc("Prefix of the exported symbols (default: the output's name "
             "without lib and extension)"),
    cl::cat(category));
static cl::opt<std::string> crashReproducer(
    "crash-reproducer",
    cl::desc("Where to write an MLIR reproducer when a pass fails or crashes "
             "(default: <output>.reproducer.mlir; 'none' for none)"),
    cl::value_desc("path"), cl::cat(category));
static cl::opt<int64_t> threads(
    "num-threads",
    cl::desc("Threads for parallel loops: 1 compiles serial code; 0 "
             "(default) uses the library's thread count at each call "
             "(<prefix>_set_num_threads, else TESSERA_NUM_THREADS, else the "
             "machine's cores); N uses at most N"),
    cl::init(0), cl::cat(category));
static cl::opt<bool> dequantizeLayouts(
    "dequantize-layouts",
    cl::desc("Give dequantize-strategy weights the interleaved layout the "
             "vector kernel reads fastest (default; the weights then take "
             "prepacked storage, converted by the prepack functions)"),
    cl::init(true), cl::cat(category));
static cl::opt<std::string> mpmmStrategy(
    "mpmm-strategy",
    cl::desc("Strategy of tessera.mpmm ops without one: dequantize "
             "(default; exact up to f32 rounding), auto (the heuristic: "
             "LUT where faster), lut (T-MAC, int8 tables) or lut_f32"),
    cl::init("dequantize"), cl::cat(category));
static cl::opt<std::string>
    runtimeLibrary("runtime-library",
                   cl::desc("The Tessera runtime archive to link (default: "
                            "found next to this tool)"),
                   cl::cat(category));

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "Tessera ahead-of-time compiler: a module to a shared library of C "
      "functions\n");
  if (optLevel > 3) {
    llvm::errs() << "error: -O" << optLevel << " is not a level (0 to 3)\n";
    return 1;
  }

  DialectRegistry registry;
  mlir::tessera::registerAllTesseraDialects(registry);
  MLIRContext context(registry);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(inputFile, sourceMgr, &context);
  if (!module)
    return 1;

  mlir::tessera::AotOptions options;
  options.emit = emit;
  options.outputPath = outputFile;
  options.headerPath = headerFile;
  options.sourceName = llvm::sys::path::filename(inputFile).str();
  options.dumpDir = dumpDir;
  options.cpu = target;
  if (StringRef(target).starts_with("cuda")) {
    StringRef chip = StringRef(target).drop_front(4);
    if (!chip.consume_front(":") || !chip.starts_with("sm_")) {
      llvm::errs() << "error: --target=" << target
                   << ": name the GPU architecture, as in cuda:sm_80\n";
      return 1;
    }
    options.cudaChip = chip.str();
    options.cpu = "x86-64";
  } else if (emit == mlir::tessera::AotOptions::Emit::PTX) {
    llvm::errs() << "error: --emit=ptx needs --target=cuda:<arch>\n";
    return 1;
  }
  options.optLevel = optLevel;
  options.prefix = prefix;
  options.runtimeLibrary = runtimeLibrary;
  if (threads < 0) {
    llvm::errs() << "error: --num-threads=" << threads << " is negative\n";
    return 1;
  }
  options.threads = threads;
  options.mpmmStrategy = mpmmStrategy;
  options.dequantizeLayouts = dequantizeLayouts;
  if (crashReproducer != "none")
    options.crashReproducer = crashReproducer.empty()
                                  ? outputFile + ".reproducer.mlir"
                                  : std::string(crashReproducer);
  std::string error;
  if (failed(mlir::tessera::compileAot(*module, options, error))) {
    llvm::errs() << error;
    return 1;
  }
  return 0;
}
