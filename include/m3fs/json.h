/* json: small cJSON helpers shared by the modules that write JSON documents
 * (cluster status --json, the logs index).  The values are copied by cJSON;
 * the caller owns the object and frees it with cJSON_Delete(). */
#ifndef M3FS_JSON_H
#define M3FS_JSON_H

#include <cjson/cJSON.h>

/* o[key] = v as a string, or null when v is NULL. */
static inline void json_add_str_or_null(cJSON *o, const char *key, const char *v)
{
    if (v) cJSON_AddStringToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

#endif
