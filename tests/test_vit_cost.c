// test_vit_cost.c: the closed-form FLOP count of a vanilla ViT training step
// equals what the counters record, exactly, for odd sizes.
#include "core/blas.h"
#include "core/counters.h"
#include "core/memory.h"
#include "core/rng.h"
#include "core/vit_cost.h"
#include "core/train.h"
#include "tests/testlib.h"

static void check_config(ViTConfig c, int B) {
    ViTBinding bind = {0};
    bind.num_finetune = -1;
    ViT m;
    vit_build(&m, &c, &bind, B);
    vit_init_random(&m, 3);
    size_t nimg = (size_t)B * c.channels * c.image_size * c.image_size;
    float *x = mem_alloc_floats(nimg, MEM_DATA);
    int *y = mem_alloc(sizeof(int) * (size_t)B, MEM_DATA);
    Rng r; rng_seed(&r, 4); rng_fill_normal(&r, x, (long)nimg, 0, 1);
    for (int i = 0; i < B; i++) y[i] = i % c.num_classes;
    OptimConfig oc = optim_sgd(0.0f, 0.0f);
    counters_reset();
    train_step(&m, x, y, B, &oc, 0.01f, 0.0f);
    Counters k = counters_get();
    FlopCount want = vit_step_flops(&c, B, NULL, NULL);
    EXPECT(k.flops[PHASE_FORWARD] == want.forward, "forward counted %.0f, closed form %.0f (diff %.0f)",
           k.flops[PHASE_FORWARD], want.forward, k.flops[PHASE_FORWARD] - want.forward);
    EXPECT(k.flops[PHASE_BACKWARD] == want.backward, "backward counted %.0f, closed form %.0f (diff %.0f)",
           k.flops[PHASE_BACKWARD], want.backward, k.flops[PHASE_BACKWARD] - want.backward);
    counters_reset();
    eval_batch(&m, x, y, B);
    k = counters_get();
    EXPECT(k.flops[PHASE_INFERENCE] == vit_inference_flops(&c, B), "inference counted %.0f, closed form %.0f",
           k.flops[PHASE_INFERENCE], vit_inference_flops(&c, B));
    mem_free(x); mem_free(y);
    vit_free(&m);
}

static void test_closed_form_equals_counters(void) {
    ViTConfig a = {32, 8, 3, 64, 3, 4, 128, 10, 1e-6f};
    check_config(a, 3);
    ViTConfig b = {24, 6, 1, 36, 2, 3, 100, 7, 1e-6f};   // 1 channel, odd sizes
    check_config(b, 5);
}

static void test_vit_b_32_numbers(void) {
    ViTConfig c;
    vit_preset("vit_b_32", &c);
    FlopCount f = vit_step_flops(&c, 1, NULL, NULL);
    // vit_b_32 is about 4.4 GMAC per 224 px image: forward ~8.8 GFLOP, backward about twice that.
    printf("  vit_b_32 per image: forward %.3f GFLOP, backward %.3f GFLOP\n", f.forward / 1e9, f.backward / 1e9);
    EXPECT(f.forward > 8.6e9 && f.forward < 9.0e9, "forward %.3g", f.forward);
    EXPECT(f.backward > 1.9 * f.forward && f.backward < 2.1 * f.forward, "backward %.3g", f.backward);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    threads_set(0);
    RUN(test_closed_form_equals_counters);
    RUN(test_vit_b_32_numbers);
    return tl_finish();
}
