// fuzz_csv.c: libFuzzer target for the text label and split readers of the
// image-folder data sets: the ISIC 2018 ground-truth CSV (libcsv,
// core/data/isic.c) and the listings of Pets, Flowers102 and CUB-200-2011
// (core/data/folder.c). Input: one flag byte, then up to four files
// separated by the line "\n===\n". Flag bits 0-1 pick the format, bit 2 the
// test split:
//   0 isic     ISIC2018_Task3_{Training,Test}_GroundTruth.csv
//   1 pets     annotations/{trainval,test}.txt
//   2 flowers  imagelabels.txt, trnid.txt, valid.txt, tstid.txt
//   3 cub      images.txt, image_class_labels.txt, train_test_split.txt
// The format's index function (the part of dataset_open that reads these
// files) must return 0 or -1 with a message; on success every label must
// be a class of the format and every record must name an image file.
// Seeds: WB_FUZZ_SEEDS=DIR ./fuzz_csv writes small valid inputs to DIR.
#include "core/data/formats.h"
#include "tests/fuzz/fuzz.h"

static const char *const isic_csv[2] = {"isic/ISIC2018_Task3_Training_GroundTruth.csv", "isic/ISIC2018_Task3_Test_GroundTruth.csv"};
static const char *const pets_txt[2] = {"pets/annotations/trainval.txt", "pets/annotations/test.txt"};
static const char *const flowers_txt[4] = {"flowers/imagelabels.txt", "flowers/trnid.txt", "flowers/valid.txt", "flowers/tstid.txt"};
static const char *const cub_txt[3] = {"cub/images.txt", "cub/image_class_labels.txt", "cub/train_test_split.txt"};

static void write_seed(const char *dir, const char *name, uint8_t flags, const char *const *parts, int n) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) exit(1);
    fputc(flags, f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%s", i ? FZ_SEP : "", parts[i]);
    fclose(f);
}

static void write_seeds(const char *dir) {
    const char *isic[] = {"image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\n"
                          "ISIC_0024306,0.0,1.0,0.0,0.0,0.0,0.0,0.0\n"
                          "ISIC_0024307,1,0,0,0,0,0,0\r\n"
                          "\n"
                          "\"ISIC_0024308\",0,0,0,0,0,0,1\n"};
    write_seed(dir, "isic_train", 0, isic, 1);
    const char *isic_test[] = {"\xef\xbb\xbfVASC,DF,BKL,AKIEC,BCC,NV,MEL,image,extra\n0,1,0,0,0,0,0,ISIC_0034524,x\n"};
    write_seed(dir, "isic_test_reordered", 4, isic_test, 1);
    const char *pets[] = {"#Image CLASS-ID SPECIES BREED ID\n#ID: 1:37 Class ids\nAbyssinian_100 1 1 1\nyorkshire_terrier_9 37 2 25\n\n"};
    write_seed(dir, "pets_trainval", 1, pets, 1);
    write_seed(dir, "pets_test", 1 | 4, pets, 1);
    const char *flowers[] = {"77 77 12.0,102\n1", "1 2", "3,4", "5"};
    write_seed(dir, "flowers_train", 2, flowers, 4);
    write_seed(dir, "flowers_test", 2 | 4, flowers, 4);
    const char *cub[] = {"1 001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg\n2 002.Laysan_Albatross/a b.jpg\n3 200.Common_Yellowthroat/c.jpg\n",
                         "1 1\n2 2\n3 200\n", "1 1\n2 0\n3 1\n"};
    write_seed(dir, "cub_train", 3, cub, 3);
    write_seed(dir, "cub_test", 3 | 4, cub, 3);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    const char *seeds = getenv("WB_FUZZ_SEEDS");
    if (seeds) { write_seeds(seeds); exit(0); }
    fz_setup("csv");
    static const char *const dirs[] = {"isic", "isic/ISIC2018_Task3_Training_Input", "isic/ISIC2018_Task3_Test_Input", "pets",
                                       "pets/annotations", "pets/images", "flowers", "flowers/jpg", "cub", "cub/images"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) fz_mkdir(dirs[i]);
    return 0;
}

static void remove_all(void) {
    for (int i = 0; i < 2; i++) { fz_unlink(isic_csv[i]); fz_unlink(pets_txt[i]); }
    for (int i = 0; i < 4; i++) fz_unlink(flowers_txt[i]);
    for (int i = 0; i < 3; i++) fz_unlink(cub_txt[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    fz_begin();
    int format = data[0] & 3, test = (data[0] & 4) != 0;
    FzPart part[4];
    int np = fz_split(data + 1, size - 1, part, format == 2 ? 4 : format == 3 ? 3 : 1);
    const char *const *names = format == 0 ? isic_csv + test : format == 1 ? pets_txt + test : format == 2 ? flowers_txt : cub_txt;
    for (int i = 0; i < np; i++) fz_write(names[i], part[i].p, part[i].n);

    static const char *const sub[4] = {"isic", "pets", "flowers", "cub"};
    static const DataFormat fmt[4] = {DATA_ISIC2018, DATA_PETS, DATA_FLOWERS102, DATA_CUB200};
    static const int classes[4] = {7, 37, 102, 200};
    DataConfig cfg;
    data_config_default(&cfg);
    cfg.format = fmt[format];
    cfg.split = test ? SPLIT_TEST : SPLIT_TRAIN;
    char dir[512];
    fz_path(dir, sizeof dir, sub[format]);
    snprintf(cfg.path, sizeof cfg.path, "%s", dir);
    DataSource src;
    memset(&src, 0, sizeof src);
    WbError err = {{0}};
    int rc = format == 0 ? isic_index(&src, &cfg, dir, &err) : format == 1 ? pets_index(&src, &cfg, dir, &err)
           : format == 2 ? flowers_index(&src, &cfg, dir, &err) : cub_index(&src, &cfg, dir, &err);
    if (rc == 0) {
        if (src.num_classes != classes[format]) { fprintf(stderr, "fuzz_csv: %d classes\n", src.num_classes); abort(); }
        for (int i = 0; i < src.n; i++) {
            if (src.labels[i] < 0 || src.labels[i] >= src.num_classes) {
                fprintf(stderr, "fuzz_csv: record %d has label %d outside 0..%d\n", i, src.labels[i], src.num_classes - 1);
                abort();
            }
            if (!source_file(&src, i)[0]) { fprintf(stderr, "fuzz_csv: record %d names no file\n", i); abort(); }
        }
    } else if (!err.msg[0]) {
        fprintf(stderr, "fuzz_csv: index failed without a message\n");
        abort();
    }
    source_free(&src);
    remove_all();
    fz_end("*_index (csv/listings)");
    return 0;
}
