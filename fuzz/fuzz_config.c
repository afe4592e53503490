/* libFuzzer target for the .env config parser: any bytes are parsed as a
 * config file; on success every stored key is read back through the typed
 * getters and printed (secrets masked), so ASan sees every path that touches
 * parsed values. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        mr_log_setup(MR_LOG_ERROR, 1); /* unknown-key warnings are expected */
        quiet = 1;
    }
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0; /* the parser reads C strings, as from a file read whole */
    mr_config *c = NULL;
    if (mr_config_new(&c) == 0) {
        if (mr_config_load_text(c, text, "fuzz.env") == 0) {
            int64_t i;
            double d;
            mr_config_int(c, "MUSREC_SEED", &i);
            mr_config_f64(c, "MUSREC_THREADS", &d);
            FILE *f = fopen("/dev/null", "w");
            if (f) {
                mr_config_print(c, f);
                fclose(f);
            }
        }
        mr_config_free(c);
    }
    free(text);
    return 0;
}
