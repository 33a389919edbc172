//===- Registration.h - Everything a Tessera tool registers ------*- C++ -*-===//

#ifndef TESSERA_PIPELINES_REGISTRATION_H
#define TESSERA_PIPELINES_REGISTRATION_H

namespace mlir {
class DialectRegistry;
namespace tessera {

/// Inserts the Tessera dialect and every upstream dialect and extension.
void registerAllTesseraDialects(DialectRegistry &registry);

/// Registers the Tessera passes and pipelines and every upstream pass.
void registerAllTesseraPasses();

} // namespace tessera
} // namespace mlir

#endif // TESSERA_PIPELINES_REGISTRATION_H
