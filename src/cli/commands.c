#include <string.h>

#include "cli/cli.h"

const mr_command mr_cli_commands[] = {
#define MR_CMD(name, summary) {#name, summary, mr_cmd_##name},
#include "cli/commands.def"
#undef MR_CMD
};
const int mr_cli_ncommands = (int)(sizeof mr_cli_commands / sizeof mr_cli_commands[0]);

const mr_command *mr_cli_find(const char *name)
{
    for (int i = 0; i < mr_cli_ncommands; i++)
        if (strcmp(mr_cli_commands[i].name, name) == 0) return &mr_cli_commands[i];
    return NULL;
}
