#pragma once
// A dense multilayer perceptron whose parameters live in a caller's flat buffer. Per layer the
// buffer holds the weight transposed, W^T [in, padded(out)], then the bias [padded(out)], padding
// zero: the layout the matrix kernel reads, so forward passes (acting, target networks) copy
// nothing. torch sees the same memory as ordinary parameters: the weight is the strided view
// W^T[:, :out].t() (turborl.nn.native.flatten_parameters), so checkpoints and policies are those of
// the torch backend.
//
// Forward keeps every layer's activations for backward; backward accumulates parameter gradients
// into a flat buffer of the same layout, and needs W itself (rows of length in) only for the
// input gradients of layers after the first: it transposes those once per call. Workspaces grow
// to the largest batch seen and are then reused: no allocation per update.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "turborl/core/aligned_array.hpp"
#include "turborl/core/check.hpp"
#include "turborl/nn/kernels.hpp"

namespace turborl::nn {

enum class Activation : int { kIdentity = 0, kTanh = 1, kRelu = 2, kLeakyRelu = 3 };

struct MlpSpec {
  std::vector<int> sizes;               // in, hidden..., out
  Activation hidden_activation = Activation::kTanh;
  Activation output_activation = Activation::kIdentity;
  bool layer_norm = false;              // parameter-free LayerNorm before each hidden activation (stream-x)
  double leaky_slope = 0.01;            // torch's LeakyReLU default
  double layer_norm_eps = 1e-5;         // torch's LayerNorm default
};

inline void check_spec(const MlpSpec& spec) {
  TURBORL_CHECK(spec.sizes.size() >= 2, "an MLP needs at least input and output sizes, got ", spec.sizes.size(),
                " sizes");
  for (int size : spec.sizes) TURBORL_CHECK(size >= 1, "layer sizes must be >= 1, got ", size);
  for (Activation a : {spec.hidden_activation, spec.output_activation})
    TURBORL_CHECK(int(a) >= 0 && int(a) <= 3, "unknown activation code ", int(a));
}

template <class T>
class Mlp {
 public:
  explicit Mlp(MlpSpec spec) : spec_(std::move(spec)) {
    check_spec(spec_);
    const int layers = num_layers();
    std::ptrdiff_t offset = 0;
    for (int l = 0; l < layers; ++l) {
      Layer layer;
      layer.in = spec_.sizes[l];
      layer.out = spec_.sizes[l + 1];
      layer.ld_in = padded(layer.in);
      layer.ld_out = padded(layer.out);
      layer.weight_offset = offset;
      layer.bias_offset = offset + std::ptrdiff_t(layer.in) * layer.ld_out;
      offset = layer.bias_offset + layer.ld_out;
      layer.activation = l + 1 < layers ? spec_.hidden_activation : spec_.output_activation;
      layer.layer_norm = spec_.layer_norm && l + 1 < layers;
      layer.weight_rows = AlignedArray<T>(std::size_t(layer.out) * layer.ld_in);
      layers_.push_back(std::move(layer));
    }
    num_params_ = offset;
  }
  Mlp(const Mlp&) = delete;
  Mlp& operator=(const Mlp&) = delete;
  Mlp(Mlp&&) noexcept = default;

  int num_layers() const { return int(spec_.sizes.size()) - 1; }
  int in_features() const { return spec_.sizes.front(); }
  int out_features() const { return spec_.sizes.back(); }
  std::ptrdiff_t num_params() const { return num_params_; }

  // 1 for every weight entry of the flat buffer, 0 for biases (padding counts as weight: it stays 0).
  void weight_mask(uint8_t* mask) const {
    for (const Layer& layer : layers_) {
      std::fill(mask + layer.weight_offset, mask + layer.bias_offset, uint8_t(1));
      std::fill(mask + layer.bias_offset, mask + layer.bias_offset + layer.ld_out, uint8_t(0));
    }
  }
  std::ptrdiff_t output_ld() const { return layers_.back().ld_out; }
  std::ptrdiff_t input_ld() const { return layers_.front().ld_in; }  // of backward's d_input
  const MlpSpec& spec() const { return spec_; }

  // Grows the workspaces to hold `batch` rows (allocates only when the batch is a new maximum).
  void reserve(std::ptrdiff_t batch) {
    if (batch <= capacity_) return;
    for (Layer& layer : layers_) {
      layer.post = AlignedArray<T>(std::size_t(batch) * layer.ld_out);
      layer.grad = AlignedArray<T>(std::size_t(batch) * layer.ld_out);
      if (layer.layer_norm) {
        layer.normalized = AlignedArray<T>(std::size_t(batch) * layer.ld_out);
        layer.inv_std = AlignedArray<T>(std::size_t(batch));
      }
    }
    capacity_ = batch;
  }

  // Output [batch, output_ld()] (padding columns zero) for input rows x[b * ldx + i], i < in.
  const T* forward(const T* params, const T* x, std::ptrdiff_t ldx, std::ptrdiff_t batch) {
    reserve(batch);
    const T* input = x;
    std::ptrdiff_t ld_input = ldx;
    for (Layer& layer : layers_) {
      T* z = layer.post.data();
      const bool narrow_layer = narrow(layer, &layer != &layers_.front());
      const bool fused_relu = !narrow_layer && layer.activation == Activation::kRelu && !layer.layer_norm;
      if (narrow_layer) {
        narrow_forward(layer, params + layer.weight_offset, batch, input, ld_input, params + layer.bias_offset);
      } else {
        gemm<T>(batch, layer.ld_out, layer.in, input, ld_input, 1, params + layer.weight_offset, layer.ld_out, z,
                layer.ld_out, params + layer.bias_offset, false, fused_relu);
      }
      if (layer.layer_norm) normalize_rows(layer, batch);
      if (!fused_relu) activate(layer.activation, z, batch * layer.ld_out);
      input = z;
      ld_input = layer.ld_out;
    }
    return layers_.back().post.data();
  }
  T* output() { return layers_.back().post.data(); }

  // The buffer to write dLoss/dOutput into before backward: [batch, output_ld()], zeroed here.
  T* output_grad(std::ptrdiff_t batch) {
    reserve(batch);
    T* g = layers_.back().grad.data();
    std::fill(g, g + batch * layers_.back().ld_out, T(0));
    return g;
  }

  // Adds dLoss/dParams to `grads` (flat, the parameters' layout; nullptr: no parameter gradients),
  // for the batch last passed to forward with the same params and x, and writes dLoss/dx into
  // d_input [batch, padded(in)] when given (an actor's gradient through a critic). Reads
  // output_grad(); destroys the stored activations' gradients.
  void backward(const T* params, const T* x, std::ptrdiff_t ldx, std::ptrdiff_t batch, T* grads,
                T* d_input = nullptr) {
    for (int l = num_layers() - 1; l >= 0; --l) {
      Layer& layer = layers_[l];
      T* dz = layer.grad.data();
      activation_backward(layer, batch);
      if (layer.layer_norm) normalize_backward(layer, batch);
      const T* input = l > 0 ? layers_[l - 1].post.data() : x;
      const std::ptrdiff_t ld_input = l > 0 ? layers_[l - 1].ld_out : ldx;
      if (grads != nullptr) {
        // dW^T[in, out] += input^T dZ, straight into the gradient buffer (same layout as W^T); the
        // reduction runs over the batch in row order. dZ's padding columns are zero, so are theirs.
        if (narrow(layer, l > 0))
          narrow_weight_gradient(layer, batch, input, ld_input, grads + layer.weight_offset);
        else
          gemm<T>(layer.in, layer.ld_out, batch, input, 1, ld_input, dz, layer.ld_out, grads + layer.weight_offset,
                  layer.ld_out, nullptr, true);
        add_column_sums(batch, layer.ld_out, dz, layer.ld_out, grads + layer.bias_offset);
      }
      if (l > 0)
        input_gradient(layer, params + layer.weight_offset, batch, layers_[l - 1].grad.data());
      else if (d_input != nullptr)
        input_gradient(layer, params + layer.weight_offset, batch, d_input);
    }
  }

 private:
  struct Layer {
    int in = 0, out = 0;
    std::ptrdiff_t ld_in = 0, ld_out = 0;
    std::ptrdiff_t weight_offset = 0, bias_offset = 0;
    Activation activation = Activation::kIdentity;
    bool layer_norm = false;
    AlignedArray<T> weight_rows;  // W [out, padded(in)], rebuilt by backward for input gradients
    AlignedArray<T> post, grad, normalized, inv_std;
  };

  // A layer with at most kNarrow outputs whose input rows are padded (a hidden layer's
  // activations) uses the narrow kernels, which skip the padding lanes of its outputs.
  static bool narrow(const Layer& layer, bool padded_input) { return padded_input && layer.out <= kNarrow; }

  // body(std::integral_constant<int, NO>{}) for the layer's NO = out <= kNarrow outputs: the narrow
  // kernels take the output count as a template argument so their accumulators stay in registers.
  template <class Body>
  static void with_narrow_outputs(const Layer& layer, Body&& body) {
    static_assert(kNarrow == 4, "one case per output count");
    switch (layer.out) {
      case 1: body(std::integral_constant<int, 1>{}); break;
      case 2: body(std::integral_constant<int, 2>{}); break;
      case 3: body(std::integral_constant<int, 3>{}); break;
      default: body(std::integral_constant<int, kNarrow>{});
    }
  }

  // The narrow forward reads W's rows, transposed here from W^T (at most kNarrow rows).
  void narrow_forward(Layer& layer, const T* weight_t, std::ptrdiff_t batch, const T* input, std::ptrdiff_t ld_input,
                      const T* bias) {
    transpose_weight(layer, weight_t);
    with_narrow_outputs(layer, [&](auto outputs) {
      gemm_narrow_out<T, decltype(outputs)::value>(batch, layer.ld_in, input, ld_input, layer.weight_rows.data(),
                                                   layer.ld_in, bias, layer.post.data(), layer.ld_out);
    });
  }

  void narrow_weight_gradient(const Layer& layer, std::ptrdiff_t batch, const T* input, std::ptrdiff_t ld_input,
                              T* grads) const {
    with_narrow_outputs(layer, [&](auto outputs) {
      gemm_narrow_grad<T, decltype(outputs)::value>(batch, layer.in, input, ld_input, layer.grad.data(),
                                                    layer.ld_out, grads, layer.ld_out);
    });
  }

  // dInput[batch, ld_in] = dZ W. Small batches, and layers with few inputs (whose padded columns
  // the matrix kernel would compute too), take dot products with the rows of W^T; the rest
  // transpose W once and use the matrix kernel. Padding columns are written as zeros.
  static constexpr std::ptrdiff_t kDotProductBatch = 4;
  void input_gradient(Layer& layer, const T* weight_t, std::ptrdiff_t batch, T* d_input) {
    const T* dz = layer.grad.data();
    if (batch <= kDotProductBatch || layer.in <= kNarrow) {
      for (std::ptrdiff_t b = 0; b < batch; ++b) {
        T* row = d_input + b * layer.ld_in;
        for (int i = 0; i < layer.in; ++i)
          row[i] = dot_padded(weight_t + std::ptrdiff_t(i) * layer.ld_out, dz + b * layer.ld_out, layer.ld_out);
        std::fill(row + layer.in, row + layer.ld_in, T(0));
      }
      return;
    }
    transpose_weight(layer, weight_t);
    gemm<T>(batch, layer.ld_in, layer.out, dz, layer.ld_out, 1, layer.weight_rows.data(), layer.ld_in, d_input,
            layer.ld_in, nullptr, false);
  }

  // W [out, ld_in] from W^T [in, ld_out], in tiles that stay in L1 on both sides.
  static void transpose_weight(Layer& layer, const T* weight_t) {
    constexpr int kTile = 16;
    T* rows = layer.weight_rows.data();
    for (int i0 = 0; i0 < layer.in; i0 += kTile)
      for (int o0 = 0; o0 < layer.out; o0 += kTile) {
        const int i1 = std::min(i0 + kTile, layer.in), o1 = std::min(o0 + kTile, layer.out);
        for (int o = o0; o < o1; ++o)
          for (int i = i0; i < i1; ++i) rows[std::ptrdiff_t(o) * layer.ld_in + i] = weight_t[std::ptrdiff_t(i) * layer.ld_out + o];
      }
  }

  void activate(Activation activation, T* z, std::ptrdiff_t n) const {
    const T slope = T(spec_.leaky_slope);
    switch (activation) {
      case Activation::kIdentity: break;
      case Activation::kTanh: tanh_inplace(z, n); break;
      case Activation::kRelu:
        for (std::ptrdiff_t i = 0; i < n; ++i) z[i] = z[i] > T(0) ? z[i] : T(0);
        break;
      case Activation::kLeakyRelu:
        for (std::ptrdiff_t i = 0; i < n; ++i) z[i] = z[i] > T(0) ? z[i] : z[i] * slope;
        break;
    }
  }

  // grad <- grad * f'(z), with f' read from the activation's output (same sign as its input).
  void activation_backward(Layer& layer, std::ptrdiff_t batch) const {
    T* g = layer.grad.data();
    const T* h = layer.post.data();
    const std::ptrdiff_t n = batch * layer.ld_out;
    const T slope = T(spec_.leaky_slope);
    switch (layer.activation) {
      case Activation::kIdentity: break;
      case Activation::kTanh:
        for (std::ptrdiff_t i = 0; i < n; ++i) g[i] *= T(1) - h[i] * h[i];
        break;
      case Activation::kRelu:
        for (std::ptrdiff_t i = 0; i < n; ++i) g[i] = h[i] > T(0) ? g[i] : T(0);
        break;
      case Activation::kLeakyRelu:
        for (std::ptrdiff_t i = 0; i < n; ++i) g[i] = h[i] > T(0) ? g[i] : g[i] * slope;
        break;
    }
  }

  // Parameter-free LayerNorm over the real columns of each row; keeps the normalised values
  // (the activation's input) and 1 / std for backward. Padding stays zero.
  void normalize_rows(Layer& layer, std::ptrdiff_t batch) const {
    const int n = layer.out;
    for (std::ptrdiff_t b = 0; b < batch; ++b) {
      T* z = layer.post.data() + b * layer.ld_out;
      T mean = 0, var = 0;
      for (int o = 0; o < n; ++o) mean += z[o];
      mean /= T(n);
      for (int o = 0; o < n; ++o) var += (z[o] - mean) * (z[o] - mean);
      var /= T(n);  // biased, as torch's layer_norm
      const T inv_std = T(1) / std::sqrt(var + T(spec_.layer_norm_eps));
      layer.inv_std[b] = inv_std;
      T* normalized = layer.normalized.data() + b * layer.ld_out;
      for (int o = 0; o < n; ++o) normalized[o] = z[o] = (z[o] - mean) * inv_std;
    }
  }

  // dz = inv_std * (dn - mean(dn) - n * mean(dn * n)) per row.
  void normalize_backward(Layer& layer, std::ptrdiff_t batch) const {
    const int n = layer.out;
    for (std::ptrdiff_t b = 0; b < batch; ++b) {
      T* g = layer.grad.data() + b * layer.ld_out;
      const T* normalized = layer.normalized.data() + b * layer.ld_out;
      T mean_g = 0, mean_gn = 0;
      for (int o = 0; o < n; ++o) {
        mean_g += g[o];
        mean_gn += g[o] * normalized[o];
      }
      mean_g /= T(n);
      mean_gn /= T(n);
      for (int o = 0; o < n; ++o) g[o] = layer.inv_std[b] * (g[o] - mean_g - normalized[o] * mean_gn);
    }
  }

  MlpSpec spec_;
  std::vector<Layer> layers_;
  std::ptrdiff_t num_params_ = 0;
  std::ptrdiff_t capacity_ = 0;
};

}  // namespace turborl::nn
