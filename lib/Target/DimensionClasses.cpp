//===- DimensionClasses.cpp - Sizes a function needs equal ----------------===//

#include "DimensionClasses.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// Union-find over (tensor value, dimension).
class DimensionUnion {
public:
  unsigned find(Value value, int64_t dim) {
    auto [it, inserted] = ids.try_emplace({value, dim}, parent.size());
    if (inserted)
      parent.push_back(parent.size());
    return root(it->second);
  }
  void unite(Value a, int64_t aDim, Value b, int64_t bDim) {
    unsigned ra = find(a, aDim), rb = find(b, bDim);
    if (ra != rb)
      parent[rb] = ra;
  }
  /// Every dimension of two values of the same rank.
  void uniteShapes(Value a, Value b) {
    auto ta = dyn_cast<RankedTensorType>(a.getType());
    auto tb = dyn_cast<RankedTensorType>(b.getType());
    if (!ta || !tb || ta.getRank() != tb.getRank())
      return;
    for (int64_t d = 0; d < ta.getRank(); ++d)
      unite(a, d, b, d);
  }
  unsigned root(unsigned id) {
    while (parent[id] != id)
      id = parent[id] = parent[parent[id]];
    return id;
  }

private:
  DenseMap<std::pair<Value, int64_t>, unsigned> ids;
  SmallVector<unsigned> parent;
};

/// The relations the body of `func` imposes.
void uniteBody(func::FuncOp func, DimensionUnion &dims) {
  func.walk([&](Operation *op) {
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
      // Operand dimensions indexed by the same loop have the loop's size.
      DenseMap<unsigned, std::pair<Value, int64_t>> loopOwner;
      for (OpOperand &operand : op->getOpOperands()) {
        if (!isa<RankedTensorType>(operand.get().getType()))
          continue;
        AffineMap map = linalgOp.getMatchingIndexingMap(&operand);
        for (auto [r, expr] : llvm::enumerate(map.getResults())) {
          auto dimExpr = dyn_cast<AffineDimExpr>(expr);
          if (!dimExpr)
            continue;
          auto [it, inserted] = loopOwner.try_emplace(
              dimExpr.getPosition(), operand.get(), int64_t(r));
          if (!inserted)
            dims.unite(it->second.first, it->second.second, operand.get(), r);
        }
      }
    }
    if (auto dps = dyn_cast<DestinationStyleOpInterface>(op))
      for (OpResult result : op->getResults())
        if (isa<RankedTensorType>(result.getType()))
          dims.uniteShapes(result, dps.getTiedOpOperand(result)->get());
    if (auto empty = dyn_cast<tensor::EmptyOp>(op)) {
      auto type = empty.getType();
      for (int64_t d = 0; d < type.getRank(); ++d) {
        if (!type.isDynamicDim(d))
          continue;
        auto dimOp = empty.getDynamicSize(d).getDefiningOp<tensor::DimOp>();
        std::optional<int64_t> index =
            dimOp ? dimOp.getConstantIndex() : std::nullopt;
        if (index)
          dims.unite(empty, d, dimOp.getSource(), *index);
      }
    }
    if (isa<tensor::CastOp>(op))
      dims.uniteShapes(op->getResult(0), op->getOperand(0));
  });
}

} // namespace

void mlir::tessera::assignDimensionClasses(func::FuncOp func,
                                           FunctionSignature &sig) {
  DimensionUnion dims;
  uniteBody(func, dims);

  // The boundary: arguments are block arguments, results the operands of
  // every return; named dimensions meet by name.
  SmallVector<Value> returned(sig.results.size());
  func.walk([&](func::ReturnOp ret) {
    for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
      if (!returned[i])
        returned[i] = v;
      else
        dims.uniteShapes(returned[i], v);
    }
  });
  llvm::StringMap<std::pair<Value, int64_t>> named;
  auto boundary = [&](bool isResult, size_t i) -> Value {
    return isResult ? returned[i] : func.getArgument(i);
  };
  for (bool isResult : {false, true}) {
    auto &specs = isResult ? sig.results : sig.inputs;
    for (auto [i, spec] : llvm::enumerate(specs)) {
      Value v = boundary(isResult, i);
      if (!v)
        continue;
      for (auto [d, name] : llvm::enumerate(spec.dimNames)) {
        if (name.empty())
          continue;
        auto [it, inserted] = named.try_emplace(name, v, int64_t(d));
        if (!inserted)
          dims.unite(it->second.first, it->second.second, v, d);
      }
    }
  }

  // Number the classes holding at least two boundary dimensions, one of
  // them dynamic.
  DenseMap<unsigned, std::pair<int, bool>> members; // root -> (count, dynamic)
  for (bool isResult : {false, true})
    for (auto [i, spec] : llvm::enumerate(isResult ? sig.results : sig.inputs))
      if (Value v = boundary(isResult, i))
        for (auto [d, size] : llvm::enumerate(spec.shape)) {
          auto &m = members[dims.find(v, d)];
          ++m.first;
          m.second |= ShapedType::isDynamic(size);
        }
  DenseMap<unsigned, int> classOf;
  for (bool isResult : {false, true})
    for (auto [i, spec] : llvm::enumerate(isResult ? sig.results : sig.inputs)) {
      Value v = boundary(isResult, i);
      spec.dimClasses.assign(spec.shape.size(), -1);
      for (size_t d = 0; v && d < spec.shape.size(); ++d) {
        unsigned root = dims.find(v, d);
        auto [count, dynamic] = members[root];
        if (count < 2 || !dynamic)
          continue;
        auto it = classOf.try_emplace(root, int(classOf.size())).first;
        spec.dimClasses[d] = it->second;
      }
    }
}
