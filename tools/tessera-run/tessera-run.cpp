//===- tessera-run.cpp - JIT-compile and run a function of a module -------===//
//
//   tessera-run model.mlir -e forward -i x.npy -i w.npy -o y.npy
//   tessera-run model.mlir -e forward --random --dynamic-size=17 --repeat=100
//   tessera-run model.mlir -e forward -i ... --expect=ref.npy --relTolerance=1e-4
//
// Lowers the module with the CPU pipeline, JIT-compiles it, calls the entry
// function on inputs read from .npy files (or random ones), and writes,
// prints or checks the results; reports compile and run times.
//
//===----------------------------------------------------------------------===//

#include "tessera/Pipelines/Pipelines.h"
#include "tessera/Pipelines/Registration.h"
#include "tessera/Support/HostTensor.h"
#include "tessera/Target/JitModule.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>

using namespace mlir;
namespace cl = llvm::cl;
using mlir::tessera::DType;
using mlir::tessera::HostTensor;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::Required);
static cl::opt<std::string> entry("e", cl::desc("Function to run"),
                                  cl::init("main"));
static cl::alias entryLong("entry", cl::aliasopt(entry));
static cl::list<std::string> inputs("i", cl::desc("Input .npy file (in order)"));
static cl::alias inputsLong("input", cl::aliasopt(inputs));
static cl::list<std::string> outputs("o", cl::desc("Output .npy file (in order)"));
static cl::alias outputsLong("output", cl::aliasopt(outputs));
static cl::opt<bool> randomInputs(
    "random", cl::desc("Generate the inputs not given with -i: floats "
                       "uniform in [-1, 1), integers and packed bytes "
                       "uniform over their range"));
static cl::opt<unsigned> seed("seed", cl::desc("Seed for --random"),
                              cl::init(1));
static cl::opt<int64_t> dynamicSize(
    "dynamic-size", cl::desc("Size of dynamic dimensions for --random"),
    cl::init(1));
static cl::list<std::string> expects(
    "expect", cl::desc("Expected result .npy file (in order); exit code 1 "
                       "on a mismatch"));
static cl::opt<double> relTolerance("rtol", cl::desc("Relative tolerance"),
                            cl::init(1e-5));
static cl::opt<double> absTolerance("atol", cl::desc("Absolute tolerance"),
                            cl::init(1e-5));
static cl::opt<bool> printResults("print", cl::desc("Print the results"));
static cl::opt<unsigned> repeat("repeat",
                                cl::desc("Number of timed calls"),
                                cl::init(1));
static cl::opt<int64_t> threads(
    "num-threads",
    cl::desc("Threads for parallel loops: 1 compiles serial code; 0 "
             "(default) the pool's count (TESSERA_NUM_THREADS, else the "
             "machine's cores); N at most N"),
    cl::init(0));
static cl::opt<bool> dequantizeLayouts(
    "dequantize-layouts",
    cl::desc("Give dequantize-strategy weights the interleaved layout the "
             "vector kernel reads fastest (default; the weights then take "
             "prepacked storage, converted by the prepack functions)"),
    cl::init(true));
static cl::opt<std::string> mpmmStrategy(
    "mpmm-strategy",
    cl::desc("Strategy of tessera.mpmm ops without one: dequantize "
             "(default; exact up to f32 rounding), auto (the heuristic: "
             "LUT where faster), lut (T-MAC, int8 tables) or lut_f32"),
    cl::init("dequantize"));
static cl::opt<bool> referenceLowering(
    "reference-lowering",
    cl::desc("Compute every Tessera op through the reference lowering (no "
             "vector kernels), to compare the kernels with"));


/// Fills a tensor of `spec` with random values.
static HostTensor makeRandom(const mlir::tessera::TensorSpec &spec,
                             std::mt19937 &rng) {
  std::vector<int64_t> shape;
  for (int64_t d : spec.shape)
    shape.push_back(ShapedType::isDynamic(d) ? int64_t(dynamicSize) : d);
  HostTensor t(spec.dtype, shape);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  std::uniform_int_distribution<int> byte(0, 255);
  int64_t n = t.numElements();
  for (int64_t i = 0; i < n; ++i) {
    switch (spec.dtype) {
    case DType::F64:
      t.as<double>()[i] = uni(rng);
      break;
    case DType::F32:
      t.as<float>()[i] = uni(rng);
      break;
    case DType::F16:
    case DType::BF16: {
      // Round an f32 to the 16-bit format by truncating its bits: exact
      // values of the format, never inf or NaN for |x| < 1.
      float f = uni(rng);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      uint16_t h;
      if (spec.dtype == DType::BF16) {
        h = uint16_t(bits >> 16);
      } else {
        uint32_t sign = (bits >> 16) & 0x8000;
        int32_t exp = int32_t((bits >> 23) & 0xff) - 127 + 15;
        uint32_t mant = (bits >> 13) & 0x3ff;
        h = exp <= 0 ? uint16_t(sign) : uint16_t(sign | (exp << 10) | mant);
      }
      t.as<uint16_t>()[i] = h;
      break;
    }
    default:
      for (unsigned b = 0; b < mlir::tessera::dtypeSize(spec.dtype); ++b)
        t.data[i * mlir::tessera::dtypeSize(spec.dtype) + b] = uint8_t(byte(rng));
      if (spec.dtype == DType::Bool)
        t.data[i] &= 1;
    }
  }
  return t;
}

static void printTensor(const HostTensor &t) {
  llvm::outs() << "tensor<" << t.typeString() << "> = [";
  int64_t n = t.numElements();
  for (int64_t i = 0; i < n; ++i)
    llvm::outs() << (i ? ", " : "")
                 << llvm::format("%g", mlir::tessera::elementAsFloat(t, i));
  llvm::outs() << "]\n";
}

/// Compares `got` with `expected`; prints a summary line. Returns true when
/// every element is within absTolerance + relTolerance * |expected|.
static bool compare(unsigned index, const HostTensor &got,
                    const HostTensor &expected) {
  if (got.shape != expected.shape) {
    llvm::outs() << "result " << index << ": shape " << got.typeString()
                 << " differs from the expected " << expected.typeString()
                 << "\nFAIL\n";
    return false;
  }
  double maxAbs = 0, maxRel = 0;
  int64_t bad = 0, firstBad = -1;
  int64_t n = got.numElements();
  for (int64_t i = 0; i < n; ++i) {
    double g = mlir::tessera::elementAsFloat(got, i);
    double e = mlir::tessera::elementAsFloat(expected, i);
    double err = std::fabs(g - e);
    maxAbs = std::max(maxAbs, err);
    if (e != 0)
      maxRel = std::max(maxRel, err / std::fabs(e));
    if (!(err <= absTolerance + relTolerance * std::fabs(e))) {
      if (firstBad < 0)
        firstBad = i;
      ++bad;
    }
  }
  llvm::outs() << "result " << index << ": " << n << " elements, max abs err "
               << llvm::format("%g", maxAbs) << ", max rel err "
               << llvm::format("%g", maxRel) << " (atol "
               << llvm::format("%g", double(absTolerance)) << ", rtol "
               << llvm::format("%g", double(relTolerance)) << "): ";
  if (bad == 0) {
    llvm::outs() << "PASS\n";
    return true;
  }
  llvm::outs() << bad << " mismatches, first at flat index " << firstBad
               << ": got "
               << llvm::format("%g", mlir::tessera::elementAsFloat(got, firstBad))
               << ", expected "
               << llvm::format("%g",
                               mlir::tessera::elementAsFloat(expected, firstBad))
               << "\nFAIL\n";
  return false;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "Tessera JIT runner\n");

  DialectRegistry registry;
  mlir::tessera::registerAllTesseraDialects(registry);
  MLIRContext context(registry);

  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  auto t0 = std::chrono::steady_clock::now();
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(inputFile, sourceMgr, &context);
  if (!module)
    return 1;

  std::string error;
  if (threads < 0) {
    llvm::errs() << "error: --num-threads=" << threads << " is negative\n";
    return 1;
  }
  mlir::tessera::CpuPipelineOptions options;
  options.threads = threads;
  options.mpmmStrategy = mpmmStrategy;
  options.dequantizeLayouts = dequantizeLayouts;
  options.referenceLowering = referenceLowering;
  auto jit = mlir::tessera::JitModule::compile(*module, options, error);
  if (failed(jit)) {
    llvm::errs() << error;
    return 1;
  }
  double compileMs = std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - t0)
                         .count();

  const mlir::tessera::FunctionSignature *sig = (*jit)->lookup(entry);
  if (!sig) {
    llvm::errs() << "error: no public function '" << entry << "' in "
                 << inputFile << "\n";
    return 1;
  }

  std::vector<HostTensor> args;
  std::mt19937 rng(seed);
  for (size_t i = 0; i < sig->inputs.size(); ++i) {
    if (i < inputs.size()) {
      HostTensor t;
      if (!mlir::tessera::readNpy(inputs[i], t, error)) {
        llvm::errs() << "error: argument " << i << ": " << error << "\n";
        return 1;
      }
      // Weights that the kernel reads in another layout: files hold the
      // canonical packing, converted once by the module's prepack function.
      if (const std::string &prepack = sig->inputs[i].prepackFunction;
          !prepack.empty()) {
        std::vector<HostTensor> converted;
        if (failed((*jit)->invoke(prepack, {mlir::tessera::viewOf(t)},
                                  converted, error))) {
          llvm::errs() << "error: argument " << i << " (prepacked by " << prepack
                       << "): " << error << "\n";
          return 1;
        }
        t = std::move(converted.front());
      }
      args.push_back(std::move(t));
    } else if (randomInputs) {
      args.push_back(makeRandom(sig->inputs[i], rng));
    } else {
      llvm::errs() << "error: '" << entry << "' takes " << sig->inputs.size()
                   << " arguments, " << inputs.size()
                   << " given (use -i or --random)\n";
      return 1;
    }
  }
  if (inputs.size() > sig->inputs.size()) {
    llvm::errs() << "error: '" << entry << "' takes " << sig->inputs.size()
                 << " arguments, " << inputs.size() << " given\n";
    return 1;
  }
  std::vector<mlir::tessera::TensorView> argViews;
  for (const HostTensor &t : args)
    argViews.push_back(mlir::tessera::viewOf(t));

  std::vector<HostTensor> results;
  std::vector<double> times;
  for (unsigned r = 0; r < std::max(1u, unsigned(repeat)); ++r) {
    auto start = std::chrono::steady_clock::now();
    if (failed((*jit)->invoke(entry, argViews, results, error))) {
      llvm::errs() << "error: " << error << "\n";
      return 1;
    }
    times.push_back(std::chrono::duration<double, std::micro>(
                        std::chrono::steady_clock::now() - start)
                        .count());
  }

  for (size_t i = 0; i < outputs.size() && i < results.size(); ++i)
    if (!mlir::tessera::writeNpy(outputs[i], results[i], error)) {
      llvm::errs() << "error: " << error << "\n";
      return 1;
    }
  if (printResults)
    for (const HostTensor &t : results)
      printTensor(t);

  bool ok = true;
  if (expects.size() > results.size()) {
    llvm::errs() << "error: " << expects.size() << " expected results given, '"
                 << entry << "' returns " << results.size() << "\n";
    return 1;
  }
  for (size_t i = 0; i < expects.size(); ++i) {
    HostTensor expected;
    if (!mlir::tessera::readNpy(expects[i], expected, error)) {
      llvm::errs() << "error: expected result " << i << ": " << error << "\n";
      return 1;
    }
    ok &= compare(i, results[i], expected);
  }

  std::sort(times.begin(), times.end());
  llvm::outs() << "compile: " << llvm::format("%.1f", compileMs)
               << " ms; run (" << times.size() << " calls): min "
               << llvm::format("%.1f", times.front()) << " us, median "
               << llvm::format("%.1f", times[times.size() / 2]) << " us\n";
  return ok ? 0 : 1;
}
