// testlib.h: the small test framework of wasibench. A test binary runs
// named cases; each prints "PASS name" or "FAIL name" and tests/run.sh adds
// them up into "N passed, M failed". Comparisons have an absolute and a
// relative term and print the max difference and the first bad pairs.
// Below the framework: the helpers several test files share (tensors from
// reference files, the method-vs-vanilla gradient comparison, a model
// against its PyTorch reference, the checkpoint round trip), written once.
#ifndef WB_TESTLIB_H
#define WB_TESTLIB_H

#include "core/nn/linear_method.h"
#include "core/models/model.h"
#include "core/runtime/rng.h"
#include "core/io/safetensors.h"

#include <stddef.h>
#include <stdint.h>

extern int tl_case_failed;   // set by a failing check inside the running case

// Run fn as the case `name`; returns 1 if it passed. A case with no checks passes.
int tl_run(const char *name, void (*fn)(void));
#define RUN(fn) tl_run(#fn, fn)
// Print the summary for this binary and return its exit code (0 = all passed).
int tl_finish(void);
// Case filter: argv[1] if given runs only cases whose name contains it.
void tl_init(int argc, char **argv);

#define EXPECT(cond, ...) tl_expect((cond), #cond, __FILE__, __LINE__, __VA_ARGS__)
void tl_expect(int ok, const char *expr, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

// |a-b| <= atol + rtol*|b| elementwise (b is the reference). Returns the max
// abs difference; on failure prints it, the worst element and the first pairs.
double tl_close(const char *what, const float *a, const float *b, size_t n, double atol, double rtol,
                const char *file, int line);
#define EXPECT_CLOSE(what, a, b, n, atol, rtol) tl_close((what), (a), (b), (n), (atol), (rtol), __FILE__, __LINE__)
// Same for one scalar.
#define EXPECT_NEAR(what, a, b, atol, rtol) do { float _a = (float)(a), _b = (float)(b); tl_close((what), &_a, &_b, 1, (atol), (rtol), __FILE__, __LINE__); } while (0)
// Fails when every element is zero (a gradient check must not pass on nothing).
void tl_nonzero(const char *what, const float *a, size_t n, const char *file, int line);
#define EXPECT_NONZERO(what, a, n) tl_nonzero((what), (a), (n), __FILE__, __LINE__)

// Relative error summary used in reports: max|a-b| / max|b|.
double tl_max_abs_diff(const float *a, const float *b, size_t n);
double tl_max_abs(const float *a, size_t n);

// Scratch directory for files a test generates (tests/data/gen/<build dir>/<binary>), created on demand.
const char *tl_tmpdir(void);
// Write text to <tl_tmpdir()>/<name> (dies when it cannot); returns the path
// (one of 8 rotating buffers: valid for the next 7 calls).
const char *tl_write_tmp(const char *name, const char *text);
// tl_tmpdir()/name, emptied (rm -rf, mkdir -p); the last 64 names stay valid.
const char *tl_fresh_dir(const char *name);

// A random batch: img (B, channels, size, size) ~ N(0, 1), y (B) uniform in [0, classes).
void tl_random_batch(float *img, int *y, int B, int channels, int size, int classes, uint64_t seed);
// B token sequences for a Llama config: len[b] ids in [3, V) (len NULL: all seq_len), then
// pad_id to seq_len (right padding), as floats; labels in [0, num_classes).
void tl_token_batch(float *tok, int *y, const LlamaConfig *c, int B, const int *len, uint64_t seed);

// n floats ~ N(0, std^2) in a MEM_WORKSPACE buffer (the caller frees it).
float *tl_randn(Rng *r, size_t n, float std);
// sum a[i] b[i] in double.
double tl_dot(const float *a, const float *b, size_t n);
// 1 if both files exist and hold the same bytes.
int tl_files_equal(const char *a, const char *b);
// The whole F32 tensor `name` of st in a MEM_WORKSPACE buffer; dies naming
// the file when it is missing (the references come from make_reference.sh).
float *tl_read_tensor(const SafeTensors *st, const char *name, size_t *numel);

// Whether the BLAS gives bit-identical sgemm results with 1 and 2 threads on
// this machine (probed on the shapes of the model tests). Not every build
// does: OpenBLAS 0.3.21's Haswell kernels on an AVX-512 AMD EPYC differ in
// the last bit between 1 and 2 threads. When it does not, the thread-count
// tests check agreement to float rounding instead of bit identity and say
// so in their output; why (the first differing shape) is written to why.
int tl_blas_threads_invariant(char *why, size_t cap);

// The settings the method tests start from: all zero but epsilon = 1 and seed 17.
MethodConfig tl_method_config(void);
// The settings under which every compressing method must equal vanilla
// (epsilon = 1, full activation ranks; each storage and update variant):
// fills v (room for 12), returns how many.
typedef struct { const char *tag; const LinearMethod *m; MethodConfig c; } TlVariant;
int tl_full_rank_variants(TlVariant *v);
// The methods of the thread-count and recompute tests (vanilla, lora, hosvd,
// asi, the wasi and wsi storage and update variants; act ranks 4, .., 4, 16
// for activations of `modes` modes): fills v (room for 10), returns how many.
int tl_hash_variants(TlVariant *v, int modes);
// FNV-1a over n bytes, chained through h (start with 1469598103934665603).
uint64_t tl_fnv(uint64_t h, const void *p, size_t n);
// 3 SGD steps (wd 1e-4, lr 0.05) of model cfg with every linear bound to
// (meth, mc) (all_linear, num_finetune), seed-4 init, random batches of B
// (seeds 30..32), on `threads` threads: the step losses in loss (3) and a
// hash of every weight afterwards (the model's own trained tensors, the
// linears through export_dense: wasi's L R).
uint64_t tl_train_hash(const ModelConfig *cfg, const LinearMethod *meth, const MethodConfig *mc, int num_finetune, int B,
                       int threads, float *loss);
// memory.recompute (an image model re-running each block's forward in
// backward) trains exactly as saving everything: tl_train_hash with and
// without it gives the same losses and weights bit for bit, for every
// tl_hash_variants method, with the whole model trained (exact saving) and
// with num_of_finetune nft_partial and gelu_f16 + softmax_f16 on.
void tl_recompute_bit_identical(const ModelConfig *cfg, int nft_partial, int B);
// A trainable layer of method m for activations (B,N,I) -> O, initialised from W (O,I), b (O);
// b NULL: a bias-free layer (LinearLayer.no_bias).
void tl_layer_make(LinearLayer *L, const LinearMethod *m, const char *name, int B, int N, int I, int O,
                   const float *W, const float *b, const MethodConfig *cfg);
// tl_layer_make's fields without the init (trainable 1, no_bias 0): the caller changes them and calls init.
void tl_layer_prepare(LinearLayer *L, const LinearMethod *m, const char *name, int B, int N, int I, int O);
// dW (O,I) and db (O) of one linear as dense gradients, whatever its method
// (wasi's dW assembled from its factors); db may be NULL, and is 0 for a no_bias layer.
void tl_linear_grads(const LinearLayer *L, float *dW, float *db);

// Every gradient of model b (bound to a method) against model a (vanilla,
// same init and batch): the model's own trained tensors (ta, tb) and dW, db
// of each of the nlin linears. Tolerance 1e-4 of each tensor's largest entry
// + 1e-3 relative; returns the worst max|diff| / max|ref|.
double tl_compare_method_grads(const ParamSet *ta, const ParamSet *tb, const LinearLayer *la, const LinearLayer *lb,
                               int nlin, const char *tag);

// The dense gradient of a torchvision-named parameter (n floats), assembled
// from where the model keeps it; 0 if the model does not train it.
typedef int (*TlModelGrad)(Model *m, const char *name, float *dst, size_t n);
// Every "grad.<name>" of a reference file against grad(m, name):
// |diff| <= atol_frac * max|ref| + rtol |ref|, never all zero. *n_checked
// counts them; returns the worst max|diff| and max|diff| / max|ref|.
typedef struct { double max_abs, max_rel; } TlGradErr;
TlGradErr tl_compare_ref_grads(Model *m, const SafeTensors *ref, TlModelGrad grad, double atol_frac, double rtol,
                               int *n_checked);

// A model against its PyTorch reference pair tests/data/ref/<family>_<tag>_{weights,ref}.safetensors
// (tests/reflib.py write_model_reference): on the reference batch the logits,
// the loss and every gradient; the inference forward equals the training
// forward; then 5 SGD steps (momentum 0.9, wd 1e-4, clip 2.0, lr 0.01) and,
// when the file has them, 5 AdamW steps (wd 0.05, lr 1e-3) from fresh models
// give torch's losses. The model is built densely (num_finetune -1).
typedef struct {
    const char *family, *tag;
    double logit_tol, grad_atol_frac, grad_rtol, traj_atol, traj_rtol;
    TlModelGrad grad;
    // Called after the gradient check, before the model is freed: the
    // family's own checks (how many gradients it must have compared, ...).
    void (*check)(Model *m, const SafeTensors *weights, int n_grads_checked);
} TlReferenceCase;
void tl_model_reference_case(const ModelConfig *cfg, const TlReferenceCase *c);

// Save, load into a fresh model, save again: the two files are byte-identical,
// every trained parameter and the logits of a random batch bit-identical; a
// model of config `wide` refuses the file naming `first_tensor`. file is the
// checkpoint's name in tl_tmpdir(); check (may be NULL) inspects it with the
// model that wrote it.
void tl_model_checkpoint_roundtrip(const ModelConfig *cfg, const ModelConfig *wide, const char *first_tensor,
                                   const char *file, void (*check)(const Model *saved, const char *path));

// The closed-form paper measure (baselines/registry_model.h) for one family's
// config, as the model tests call it.
ModelPaperMemory methods_paper_memory(const ViTConfig *cfg, int B, const ModelBinding *bind, const char *method,
                                      const LayerRanks *ranks);
ModelPaperMemory swin_methods_paper_memory(const SwinConfig *cfg, int B, const ModelBinding *bind, const char *method,
                                           const LayerRanks *ranks);
ModelPaperMemory llama_methods_paper_memory(const LlamaConfig *cfg, int B, const ModelBinding *bind, const char *method,
                                            const LayerRanks *ranks);


// The binding the memory-plan tests build with: method (NULL: dense), layers,
// num_of_finetune, storage; epsilon 0.9 (wasi, wsi: the weight rank from the
// SVD of the random W; svdllm_lora's truncation), LoRA rank 3 alpha 6, seed.
// The caller sets mcfg.act_ranks.
ModelBinding tl_plan_binding(const LinearMethod *m, int all_linear, int num_finetune, int factored, uint64_t seed);

#endif
