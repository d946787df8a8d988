// dataset.h: the one loader interface of the data sets. dataset_open reads
// a format (one file each: idx.c, cifar.c, folder.c, isic.c, text.c), keeps
// the configured split (train / val by a seeded fraction of the official
// training set, test = the official test set) and classes (relabelled
// 0..K-1 in listed order), and dataset_batch turns a list of items into a
// normalised float batch x (B, Cout, S, S) NCHW plus labels y (B); text
// formats give x (B, T) token ids as floats instead (dataset_item_floats). A
// BatchIter walks one epoch in an order derived only from (seed, epoch).
// All memory the loader holds (records, decoded-image cache, paths, labels,
// scratch) is tracked in the data category. Layouts: core/data/DATA.md.
#ifndef WB_DATASET_H
#define WB_DATASET_H

#include "core/runtime/common.h"
#include "core/data/image.h"

#include <stdint.h>

#define DATA_MAX_CLASSES 256
#define DATA_PATH_MAX 1024
#define DATA_MAX_LENGTH 65536   // text: the largest max_length (T)
#define FASHION_MNIST_DEFAULT_PATH "/usr/share/datasets/fashion-mnist"

typedef enum {
    DATA_FASHION_MNIST = 0, // IDX files (gzip or plain)
    DATA_MNIST,             // same layout
    DATA_CIFAR10,           // binary version: data_batch_{1..5}.bin, test_batch.bin
    DATA_CIFAR100,          // binary version: train.bin, test.bin (coarse + fine labels)
    DATA_PETS,              // Oxford-IIIT Pets: images/, annotations/{trainval,test}.txt
    DATA_FLOWERS102,        // Oxford Flowers102: jpg/, imagelabels.txt, trnid/valid/tstid.txt
    DATA_CUB200,            // CUB-200-2011: images/, images.txt, image_class_labels.txt, train_test_split.txt
    DATA_ISIC2018,          // ISIC 2018 task 3: ground-truth CSV + input folder
    DATA_BOOLQ,             // text: SuperGLUE BoolQ train.jsonl, val.jsonl (question, passage, label)
    DATA_TEXT_CLASSIFICATION, // text: train.jsonl, test.jsonl with a text and an integer label
    DATA_NFORMATS
} DataFormat;

typedef enum { SPLIT_TRAIN = 0, SPLIT_VAL, SPLIT_TEST } DataSplit;
typedef enum {
    NORM_HALF = 0,   // mean = std = 0.5 per channel (the paper's CIFAR setting)
    NORM_IMAGENET,   // mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225)
    NORM_DATASET,    // the data set's own statistics (known for MNIST, Fashion-MNIST, CIFAR-10/100)
    NORM_EXPLICIT,   // cfg.mean / cfg.std as given
    NORM_NONE        // x in [0, 1]
} DataNorm;
typedef enum {
    RESIZE_SQUASH = 0,  // Resize((S, S)): aspect ratio not kept
    RESIZE_SHORT_CROP   // Resize(resize_size) of the shorter side, then CenterCrop(S)
} DataResize;
typedef enum { CACHE_AUTO = 0, CACHE_OFF, CACHE_ON } DataCache;

// Every field is a YAML key under `dataset:` of the same name; errors about
// the config name it as "dataset.<field>".
typedef struct {
    DataFormat format;
    char path[DATA_PATH_MAX];      // "" = the format's default (Fashion-MNIST only)
    DataSplit split;
    int image_size;                // S: output (Cout, S, S)
    int channels;                  // Cout: 3 (gray replicated) or 1 (RGB to luminance)
    int classes[DATA_MAX_CLASSES]; // keep these classes, relabelled 0..n_classes-1 in this order
    int n_classes;                 // 0 = keep all
    float val_fraction;            // share of the official training set held out as 'val' (0.2)
    uint64_t split_seed;           // seed of the train/val permutation (233)
    DataNorm norm;
    float mean[3], std[3];         // used when norm = NORM_EXPLICIT (one value per output channel)
    DataResize resize;
    int resize_size;               // RESIZE_SHORT_CROP: shorter side before the crop (0 = S)
    int random_resized_crop;       // augmentation: RandomResizedCrop(S, rrc_scale, rrc_ratio) replaces resize/crop
    float rrc_scale[2];            // (0.08, 1)
    float rrc_ratio[2];            // (3/4, 4/3)
    int hflip;                     // augmentation: mirror with probability 1/2
    int shuffle;                   // BatchIter order: permutation from (seed, epoch); 0 = file order
    uint64_t seed;                 // order and augmentation draws
    int skip_corrupt;              // drop unreadable images (counted in n_skipped) instead of failing
    DataCache cache;               // folders: keep decoded images in memory (auto: on when files <= 32 MB)
    int coarse_labels;             // CIFAR-100: 1 = the 20 coarse classes, 0 = the 100 fine (default)
    // Text formats (the image fields above are ignored by them):
    char tokenizer[DATA_PATH_MAX]; // sentencepiece model; "" = <path>/tokenizer.model
    int max_length;                // T: ids per item (BOS + text, truncated, padded) (128)
    int pad_id;                    // padding id; -1 = the tokenizer's eos (TinyLlama: </s> = 2)
    char text_key[64];             // text_classification: the text field ("text")
    char label_key[64];            // text_classification: the integer label field ("label")
} DataConfig;

// The defaults above: Fashion-MNIST at its Debian path, train split, S = 32,
// Cout = 3, all classes, val_fraction 0.2, split_seed 233, NORM_HALF,
// squash resize, no augmentation, shuffle on, seed 0, cache auto; text:
// max_length 128, pad_id -1 (eos), text_key "text", label_key "label".
void data_config_default(DataConfig *cfg);

// Names for configs and logs. *_parse return -1 for an unknown name.
const char *data_format_name(DataFormat f);  // "fashion_mnist", "mnist", "cifar10", "cifar100", "pets", "flowers102", "cub200", "isic2018", "boolq", "text_classification"
const char *data_split_name(DataSplit s);    // "train", "val", "test"
const char *data_norm_name(DataNorm n);      // "half", "imagenet", "dataset", "explicit", "none"
const char *data_resize_name(DataResize r);  // "squash", "short_crop"
const char *data_cache_name(DataCache c);    // "auto", "off", "on"
int data_format_parse(const char *s);
// The official training set's record count (Fashion-MNIST 60000, ..., ISIC
// 2018 10015, BoolQ 9427), for cost estimates before the data is read; 0 if
// unknown (text_classification).
int data_format_train_records(DataFormat f);
// The classes of a format (CIFAR-100 with coarse = 1: its 20 coarse ones); 0
// if unknown before the files are read (text_classification: largest label + 1).
int data_format_classes(DataFormat f, int coarse);
// 1 for the text formats (token ids, a tokenizer), 0 for the image ones.
int data_format_is_text(DataFormat f);
// A text format that reads dataset.text_key / label_key (text_classification; boolq's fields are fixed).
int data_format_keyed_text(DataFormat f);
// 1 when the format has coarse labels (CIFAR-100: dataset.coarse_labels).
int data_format_has_coarse(DataFormat f);
// dataset.path when none is given (Fashion-MNIST's Debian package), NULL when it is required.
const char *data_format_default_path(DataFormat f);
// 1 when `normalize: dataset` has statistics of the format's training images for that many channels.
int data_format_has_stats(DataFormat f, int channels);
int data_split_parse(const char *s);
int data_norm_parse(const char *s);
int data_resize_parse(const char *s);
int data_cache_parse(const char *s);

// What a format file fills (the official training set, or test set when
// split = test). Every array is in the data category.
typedef struct {
    int n;                    // records
    int num_classes;          // classes of the format, before filtering
    int *labels;              // (n) class ids 0..num_classes-1
    int *record;              // (n) where the listing names it, for messages: a record index or line number
    const char *record_kind;  // "record", "line" or "image id": what record[] counts
    char listing[DATA_PATH_MAX + 128]; // the file that lists the records (labels file, split file, CSV)
    // Records of one size held in memory (IDX, CIFAR), filled by load:
    int H, W, C;              // 0 for folders
    uint8_t *pixels;          // (n, H, W, C)
    // Records that are image files (folders):
    char *names;              // arena of NUL-terminated paths
    size_t names_len, names_cap;
    size_t *file;             // (n) offsets into names
    long long *file_bytes;    // (n) size on disk (filled by dataset.c)
    int cap;                  // allocated length of the per-record arrays
    // Text records (text.c): index keeps each record's text (NUL-terminated)
    // in an arena until load tokenizes the kept ones into tokens and frees it.
    char *texts;              // arena of the texts
    size_t texts_len, texts_cap;
    size_t *text_off;         // (n) offsets into texts
    int T;                    // ids per record
    int32_t *tokens;          // (n, T) BOS + ids, right-padded with pad_id
    int vocab, pad_id;        // of the tokenizer used (pad resolved)
    int n_truncated;          // kept records longer than T ids (cut on the right)
} DataSource;

typedef struct Dataset {
    DataConfig cfg;           // resolved: mean/std/resize_size filled in
    int n;                    // items in this split
    int num_classes;          // K after filtering
    int *labels;              // (n) 0..K-1
    DataSource src;           // record i of src is item i (after selection)
    Image *cache;             // (n) decoded images, or NULL (folders only)
    uint8_t *bad;             // (n) 1 = found corrupt and skipped (skip_corrupt)
    int n_skipped;            // corrupt or missing items dropped so far
    // per-thread scratch for dataset_batch (image, file bytes, sampler tables)
    int n_threads;
    Image *img;
    ByteBuf *buf;
    void **tab;
    WbError *terr;            // (n_threads) first error each thread met
    int *terr_slot;           // (n_threads) its slot, -1 = none
    int *status;              // (status_cap) per-slot result of the last batch
    int status_cap;
} Dataset;

// Open the split described by cfg. Returns 0, or -1 with a message naming the
// file (and record/line) or the config field and what was expected.
int dataset_open(Dataset *ds, const DataConfig *cfg, WbError *err);
void dataset_close(Dataset *ds);

// Floats per item of x: Cout*S*S for images, T (max_length) for text.
int dataset_item_floats(const Dataset *ds);
// The tokenizer's vocabulary size (every id of x is below it); 0 for images.
int dataset_vocab_size(const Dataset *ds);

// x (B, Cout, S, S), y (B): the items idx[0..B) of ds, preprocessed (augmentation
// draws depend only on (cfg.seed, epoch, item)). Returns the number of items
// written: B, or fewer when skip_corrupt dropped some (the good ones come
// first, in order); -1 on error (the message names the file). Text: x (B, T)
// the stored token ids as floats (exact: ids < 2^24), always B.
int dataset_batch(Dataset *ds, const int *idx, int B, int epoch, float *x, int *y, WbError *err);

// counts (num_classes) = items per class.
void dataset_class_counts(const Dataset *ds, int *counts);
// Path of item i (folders) or "listing#record" (in-memory formats), for messages.
void dataset_item_name(const Dataset *ds, int i, char *buf, size_t len);
// One line for logs: format, split, items, classes, size, norm, skipped.
void dataset_describe(const Dataset *ds, char *buf, size_t len);
// The item order of an epoch: a permutation from (cfg.seed, epoch), or 0..n-1
// when cfg.shuffle is 0. order (n).
void dataset_epoch_order(const Dataset *ds, int epoch, int *order);

typedef struct {
    Dataset *ds;
    int B;                    // batch size
    int drop_last;            // 1 = skip a final partial batch
    int epoch;
    int pos;                  // next position in order
    int *order;               // (n) this epoch's order
} BatchIter;

void batch_iter_init(BatchIter *it, Dataset *ds, int B, int drop_last);
void batch_iter_start(BatchIter *it, int epoch);       // (re)start at epoch
// x (B, dataset_item_floats), y (B). Returns items in the batch (1..B), 0 at the end of
// the epoch, -1 on error. With skip_corrupt, dropped items are replaced by
// the next ones of the epoch, so only the last batch is short.
int batch_iter_next(BatchIter *it, float *x, int *y, WbError *err);
int batch_iter_count(const BatchIter *it);             // batches per epoch (before any skip)
void batch_iter_free(BatchIter *it);

#endif
