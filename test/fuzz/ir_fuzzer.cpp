//===- ir_fuzzer.cpp - libFuzzer target: parse, verify, print Tessera IR --===//
//
// Each input is MLIR text. It is parsed with the Tessera dialect and every
// upstream dialect (diagnostics discarded: malformed input must give a
// diagnostic, never a crash). What parses and verifies must also survive the
// printers: the custom and the generic form each parse back, verify, and
// print again to the same text. A crash, a sanitizer report or a broken round
// trip ends the run with the input saved by libFuzzer.
//
//   scripts/fuzz.sh ir 1800     (build-fuzz/bin/tessera-ir-fuzzer)
//
//===----------------------------------------------------------------------===//

#include "tessera/Pipelines/Registration.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace mlir;

namespace {

MLIRContext &getContext() {
  static MLIRContext *context = [] {
    DialectRegistry registry;
    tessera::registerAllTesseraDialects(registry);
    auto *ctx = new MLIRContext(registry);
    ctx->loadAllAvailableDialects();
    // Errors are expected (most inputs are malformed); only crashes count.
    ctx->getDiagEngine().registerHandler([](Diagnostic &) { return success(); });
    return ctx;
  }();
  return *context;
}

std::string print(Operation *op, bool generic) {
  std::string text;
  llvm::raw_string_ostream os(text);
  OpPrintingFlags flags;
  if (generic)
    flags.printGenericOpForm();
  op->print(os, flags);
  return text;
}

[[noreturn]] void fail(const char *what, const std::string &text) {
  std::fprintf(stderr, "tessera-ir-fuzzer: %s\n--- text ---\n%s\n", what,
               text.c_str());
  std::abort();
}

/// Parses `text`, which was printed from a valid module: it must parse and
/// verify, and print back to itself.
void checkReparses(const std::string &text, bool generic) {
  ParserConfig config(&getContext());
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, config);
  if (!module)
    fail(generic ? "the generic form does not parse back"
                 : "the custom form does not parse back",
         text);
  if (failed(verify(*module)))
    fail("the printed module does not verify", text);
  if (print(*module, generic) != text)
    fail("printing the parsed module gives different text", text);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Inputs of more than 64 KiB add nothing a smaller one would not find.
  if (size > (1 << 16))
    return -1;
  std::string source(reinterpret_cast<const char *>(data), size);
  ParserConfig config(&getContext());
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, config);
  if (!module || failed(verify(*module)))
    return 0;
  checkReparses(print(*module, /*generic=*/false), /*generic=*/false);
  checkReparses(print(*module, /*generic=*/true), /*generic=*/true);
  return 0;
}
