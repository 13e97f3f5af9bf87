#include "m3fs/version.h"

#include <archive.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libssh/libssh.h>
#include <openssl/crypto.h>
#include <yaml.h>

#ifndef M3FS_VERSION
#define M3FS_VERSION "0.0.0"
#endif
#ifndef M3FS_GIT_SHA
#define M3FS_GIT_SHA "unknown"
#endif
#ifndef M3FS_BUILD_DATE
#define M3FS_BUILD_DATE "unknown"
#endif

const char *m3fs_version(void) { return M3FS_VERSION; }

void m3fs_print_version(FILE *out)
{
    fprintf(out, "m3fs %s\n", M3FS_VERSION);
    fprintf(out, "Git SHA:    %s\n", M3FS_GIT_SHA);
    fprintf(out, "Build date: %s\n", M3FS_BUILD_DATE);
    fprintf(out, "libyaml:    %s\n", yaml_get_version_string());
    fprintf(out, "libssh:     %s\n", ssh_version(0));
    fprintf(out, "libcurl:    %s\n", curl_version());
    fprintf(out, "OpenSSL:    %s\n", OpenSSL_version(OPENSSL_VERSION));
    fprintf(out, "libarchive: %s\n", archive_version_string());
    fprintf(out, "cJSON:      %s\n", cJSON_Version());
}
