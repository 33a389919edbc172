//===- DiagnosticCapture.h - Diagnostics into a string -----------*- C++ -*-===//

#ifndef TESSERA_TARGET_DIAGNOSTICCAPTURE_H
#define TESSERA_TARGET_DIAGNOSTICCAPTURE_H

#include "mlir/IR/Diagnostics.h"

#include <string>

namespace mlir::tessera {

/// While alive, appends every diagnostic of `context` to `out` as
/// "<location>: error: <message>", with its notes, instead of printing it:
/// how the JIT, the AOT compiler and the Python bindings report failures.
class DiagnosticCapture {
public:
  DiagnosticCapture(MLIRContext *context, std::string &out);

private:
  std::string &out;
  ScopedDiagnosticHandler handler;
};

} // namespace mlir::tessera

#endif // TESSERA_TARGET_DIAGNOSTICCAPTURE_H
