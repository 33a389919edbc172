//===- DiagnosticCapture.cpp - Diagnostics into a string ------------------===//

#include "tessera/Target/DiagnosticCapture.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::tessera;

static const char *severityName(DiagnosticSeverity severity) {
  switch (severity) {
  case DiagnosticSeverity::Error:
    return "error";
  case DiagnosticSeverity::Warning:
    return "warning";
  case DiagnosticSeverity::Note:
    return "note";
  case DiagnosticSeverity::Remark:
    return "remark";
  }
  return "error";
}

DiagnosticCapture::DiagnosticCapture(MLIRContext *context, std::string &out)
    : out(out), handler(context, [this](Diagnostic &diag) {
        llvm::raw_string_ostream os(this->out);
        os << diag.getLocation() << ": " << severityName(diag.getSeverity())
           << ": " << diag << "\n";
        for (Diagnostic &note : diag.getNotes())
          os << note.getLocation() << ": note: " << note << "\n";
        return success();
      }) {}
