/* The program every launcher starts in the spawn benchmark: one hello frame on fd 3, then exit. */
#include <string.h>
#include <unistd.h>
int main(void) {
    const char *json = "{\"type\":\"hello\",\"protocol\":1,\"plugin\":\"bench\",\"version\":\"1\"}";
    unsigned char frame[256];
    size_t n = strlen(json);
    frame[0] = 0; frame[1] = 0; frame[2] = (unsigned char)(n >> 8); frame[3] = (unsigned char)n;
    memcpy(frame + 4, json, n);
    return write(3, frame, n + 4) == (ssize_t)(n + 4) ? 0 : 1;
}
