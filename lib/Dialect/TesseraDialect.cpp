//===- TesseraDialect.cpp - Tessera dialect -------------------------------===//

#include "TesseraReduction.h"
#include "tessera/Dialect/Tessera.h"
#include "tessera/Support/BitPacking.h"
#include "tessera/Support/FloatFormat.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::tessera;

#include "tessera/Dialect/TesseraDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "tessera/Dialect/TesseraTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "tessera/Dialect/TesseraAttrs.cpp.inc"

// #tessera.layout<tile = [4, 32], bit_planes>; every part is optional.
Attribute LayoutAttr::parse(AsmParser &parser, Type) {
  SmallVector<int64_t> tile;
  bool bitPlanes = false;
  if (parser.parseLess())
    return {};
  if (succeeded(parser.parseOptionalGreater()))
    return LayoutAttr::get(parser.getContext(), tile, bitPlanes);
  do {
    StringRef key;
    SMLoc loc = parser.getCurrentLocation();
    if (parser.parseKeyword(&key))
      return {};
    if (key == "tile") {
      if (parser.parseEqual() || parser.parseLSquare() ||
          parser.parseCommaSeparatedList([&]() {
            return parser.parseInteger(tile.emplace_back());
          }) ||
          parser.parseRSquare())
        return {};
    } else if (key == "bit_planes") {
      bitPlanes = true;
    } else {
      parser.emitError(loc, "expected 'tile' or 'bit_planes', got '")
          << key << "'";
      return {};
    }
  } while (succeeded(parser.parseOptionalComma()));
  if (parser.parseGreater())
    return {};
  return LayoutAttr::get(parser.getContext(), tile, bitPlanes);
}

void LayoutAttr::print(AsmPrinter &printer) const {
  printer << "<";
  if (!getTile().empty()) {
    printer << "tile = [";
    llvm::interleaveComma(getTile(), printer);
    printer << "]";
  }
  if (getBitPlanes())
    printer << (getTile().empty() ? "" : ", ") << "bit_planes";
  printer << ">";
}

PackedLayout LayoutAttr::getPackedLayout() const {
  PackedLayout layout;
  layout.tile.assign(getTile().begin(), getTile().end());
  layout.bitPlanes = getBitPlanes();
  return layout;
}

void TesseraDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "tessera/Dialect/TesseraAttrs.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "tessera/Dialect/TesseraTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "tessera/Dialect/TesseraOps.cpp.inc"
      >();
  addInterfaces<TesseraReductionPatterns>();
}

bool mlir::tessera::isLowBitIntegerType(Type type) {
  auto intType = dyn_cast<IntegerType>(type);
  return intType && !intType.isSignless() && intType.getWidth() >= 1 &&
         intType.getWidth() <= 8;
}

bool mlir::tessera::isLowBitFloatType(Type type) {
  return succeeded(getFloatFormat(type));
}

FailureOr<FloatFormat> mlir::tessera::getFloatFormat(Type type) {
  if (auto lowBit = dyn_cast<LowBitFloatType>(type))
    return FloatFormat(lowBit.getExponentBits(), lowBit.getMantissaBits());
  // The builtin small floats whose meaning coincides with Tessera's rules.
  if (isa<Float4E2M1FNType>(type))
    return FloatFormat(2, 1);
  if (isa<Float6E3M2FNType>(type))
    return FloatFormat(3, 2);
  if (isa<Float6E2M3FNType>(type))
    return FloatFormat(2, 3);
  if (isa<Float8E4M3FNType>(type))
    return FloatFormat(4, 3);
  if (isa<Float8E5M2Type>(type))
    return FloatFormat(5, 2);
  return failure();
}

bool mlir::tessera::isLowBitType(Type type) {
  return isLowBitIntegerType(type) || isLowBitFloatType(type);
}

unsigned mlir::tessera::getLowBitWidth(Type type) {
  if (FailureOr<FloatFormat> format = getFloatFormat(type); succeeded(format))
    return format->getBitWidth();
  return type.getIntOrFloatBitWidth();
}

LogicalResult
LowBitFloatType::verify(function_ref<InFlightDiagnostic()> emitError,
                        unsigned exponentBits, unsigned mantissaBits) {
  if (!FloatFormat::isValid(exponentBits, mantissaBits))
    return emitError() << "expects a float format with E >= 1, M >= 1 and "
                          "3 <= 1 + E + M <= 8, got e"
                       << exponentBits << "m" << mantissaBits;
  return success();
}

Type TesseraDialect::parseType(DialectAsmParser &parser) const {
  StringRef keyword;
  SMLoc loc = parser.getCurrentLocation();
  if (failed(parser.parseKeyword(&keyword)))
    return Type();
  unsigned e, m;
  if (!FloatFormat::parse(keyword.str(), e, m) || keyword.front() != 'f') {
    parser.emitError(loc, "unknown tessera type '")
        << keyword << "'; expected a float format fNeXmY with N = 1 + X + Y "
        << "of 3 to 8 bits, X >= 1, Y >= 1 (such as f4e2m1)";
    return Type();
  }
  return LowBitFloatType::get(getContext(), e, m);
}

void TesseraDialect::printType(Type type, DialectAsmPrinter &printer) const {
  auto lowBit = cast<LowBitFloatType>(type);
  printer << "f" << lowBit.getWidth() << "e" << lowBit.getExponentBits() << "m"
          << lowBit.getMantissaBits();
}

RankedTensorType mlir::tessera::getPackedStorageType(RankedTensorType type,
                                                     const PackedLayout &layout) {
  unsigned bits = getLowBitWidth(type.getElementType());
  int64_t bytes = int64_t(
      packedSizeInBytes(std::vector<int64_t>(type.getShape().begin(),
                                             type.getShape().end()),
                        bits, layout));
  return RankedTensorType::get({bytes},
                               IntegerType::get(type.getContext(), 8));
}

DenseElementsAttr mlir::tessera::packLowBitConstant(DenseElementsAttr dense,
                                                    const PackedLayout &layout) {
  auto type = cast<RankedTensorType>(dense.getType());
  // The codes: integers as their values, floats as their bit patterns.
  std::vector<int32_t> codes;
  codes.reserve(dense.getNumElements());
  if (isa<FloatType>(type.getElementType())) {
    for (const APFloat &v : dense.getValues<APFloat>())
      codes.push_back(int32_t(v.bitcastToAPInt().getZExtValue()));
  } else {
    for (const APInt &v : dense.getValues<APInt>())
      codes.push_back(int32_t(v.getSExtValue()));
  }
  RankedTensorType storageType = getPackedStorageType(type, layout);
  std::vector<uint8_t> bytes(size_t(storageType.getDimSize(0)));
  packCodes(codes.data(), std::vector<int64_t>(type.getShape()),
            getLowBitWidth(type.getElementType()), layout, bytes.data());
  return DenseElementsAttr::get(
      storageType,
      ArrayRef<int8_t>(reinterpret_cast<const int8_t *>(bytes.data()), bytes.size()));
}

LayoutAttr mlir::tessera::getLutKernelLayout(RankedTensorType weights,
                                             int64_t groupSize, bool direct,
                                             int64_t lanes, bool bytePermute) {
  Type codeType = weights.getElementType();
  if (lanes <= 0 || !isLowBitIntegerType(codeType) || !weights.hasStaticShape() ||
      weights.getRank() != 2 || weights.getDimSize(0) % lanes ||
      weights.getDimSize(1) % 8 || groupSize % 8)
    return nullptr;
  // i16 sums of two entries (of at most 127) per step of 8 (direct: 2)
  // codes stay exact for G / 8 (G / 2) steps.
  if (direct)
    return getLowBitWidth(codeType) == 4 && !codeType.isSignedInteger() &&
                   groupSize <= 256
               ? LayoutAttr::get(weights.getContext(), {lanes, 2}, /*bit_planes=*/false)
               : nullptr;
  if (groupSize > 1024)
    return nullptr;
  // The permute kernel's step is 32 codes (8 runs) of 64 rows (i32 sums).
  if (bytePermute && lanes == 64 && weights.getDimSize(1) % 32 == 0 && groupSize % 32 == 0)
    return LayoutAttr::get(weights.getContext(), {64, 32}, /*bit_planes=*/true);
  return LayoutAttr::get(weights.getContext(), {lanes, 8}, /*bit_planes=*/true);
}

LayoutAttr mlir::tessera::getDequantizeKernelLayout(RankedTensorType weights,
                                                    int64_t groupSize, bool byteTiles) {
  Type codeType = weights.getElementType();
  if (!isLowBitIntegerType(codeType) || !weights.hasStaticShape() || weights.getRank() != 2)
    return nullptr;
  unsigned bits = getLowBitWidth(codeType);
  // 5, 6 and 7 bits for byte dot products: tiles of 16 rows x 4 codes (one
  // stream of weights per 16 columns), read 8 codes (two tiles) at a time;
  // groups whose i32 sums cannot overflow.
  if (byteTiles && bits >= 5 && bits <= 7) {
    if (weights.getDimSize(0) % 16 || weights.getDimSize(1) % 8 || groupSize % 8 ||
        groupSize > 16384)
      return nullptr;
    return LayoutAttr::get(weights.getContext(), {16, 4}, /*bit_planes=*/false);
  }
  // Widths that divide 32: dense lanes of 32 / b codes; 3 bits: 3 bit
  // planes of 32 codes per lane. 5, 6 and 7 bits stay canonical: from b
  // planes the kernel mixes b words per 32 codes, which at M = 1 cost more
  // than the canonical byte shuffle (4096 x 4096, one thread: 5 bits 2.25
  // -> 2.36 ms, 6 bits 1.98 -> 2.59, 7 bits 2.20 -> 3.82; 3 bits 2.45 ->
  // 1.99, and M = 16 10.4 -> 8.8).
  if (32 % bits && bits != 3)
    return nullptr;
  bool bitPlanes = 32 % bits != 0;
  int64_t codesPerLane = bitPlanes ? 32 : 32 / bits;
  int64_t step = std::max<int64_t>(codesPerLane, 8);
  if (weights.getDimSize(0) % 8 || weights.getDimSize(1) % step || groupSize % step)
    return nullptr;
  return LayoutAttr::get(weights.getContext(), {8, codesPerLane}, bitPlanes);
}

LayoutAttr mlir::tessera::getGroupTermsKernelLayout(RankedTensorType terms) {
  constexpr int64_t kSpan = 64;
  Type type = terms.getElementType();
  if ((!isLowBitIntegerType(type) && !isa<FloatType>(type)) || !terms.hasStaticShape() ||
      terms.getRank() != 2 || terms.getDimSize(0) % kSpan)
    return nullptr;
  return LayoutAttr::get(terms.getContext(), {kSpan, 1}, /*bit_planes=*/false);
}
