/* transcode_hw.c - which accelerators exist and which engines each has, and
 * how many transcoder sessions run on each (for spreading by load).
 * NVIDIA: NVML (dlopen, optional) lists devices; a CUDA hwdevice per device;
 * NVDEC and NVENC are probed separately (an H100 decodes but cannot encode):
 * NVENC by opening h264_nvenc on the device, NVDEC by NVML's decoder query
 * (or, without NVML, by the CUDA context alone). QSV and VAAPI: one default
 * device each. Probed once; every access holds one mutex. */
#include "transcode.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/hwcontext.h>

#define MAX_DEV 16

static pthread_mutex_t hw_lock = PTHREAD_MUTEX_INITIALIZER;
static int probed;
static omn_hw_device devs[MAX_DEV];
static AVBufferRef *dev_ctx[MAX_DEV];
static int ndev;
static char probe_log[512];

/* The NVML subset we use (nvml.h is not installed; the ABI is stable). */
typedef int (*nvml_void_fn)(void);
typedef int (*nvml_count_fn)(unsigned int *);
typedef int (*nvml_handle_fn)(unsigned int, void **);
typedef int (*nvml_name_fn)(void *, char *, unsigned int);
typedef struct { unsigned long long total, free, used; } nvml_memory;
typedef int (*nvml_mem_fn)(void *, nvml_memory *);
typedef int (*nvml_util_fn)(void *, unsigned int *, unsigned int *);

static void note(const char *fmt, ...)
{
    size_t used = strlen(probe_log);
    if (used + 1 >= sizeof probe_log) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(probe_log + used, sizeof probe_log - used, fmt, ap);
    va_end(ap);
}

static int nvenc_opens(int index)
{
    const AVCodec *c = avcodec_find_encoder_by_name("h264_nvenc");
    if (!c) return 0;
    AVCodecContext *ctx = avcodec_alloc_context3(c);
    if (!ctx) return 0;
    ctx->width = 256;
    ctx->height = 256;
    ctx->pix_fmt = AV_PIX_FMT_YUV420P;
    ctx->time_base = (AVRational){1, 90000};
    char gpu[16];
    snprintf(gpu, sizeof gpu, "%d", index);
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "gpu", gpu, 0);
    int ok = avcodec_open2(ctx, c, &opts) == 0;
    av_dict_free(&opts);
    avcodec_free_context(&ctx);
    return ok;
}

static void probe_nvidia(void)
{
    void *nvml = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    unsigned int count = 0;
    nvml_handle_fn get_handle = NULL;
    nvml_name_fn get_name = NULL;
    nvml_mem_fn get_mem = NULL;
    nvml_util_fn dec_util = NULL;
    nvml_void_fn shutdown = NULL;
    int nvml_ok = 0;
    if (nvml) {
        nvml_void_fn init = (nvml_void_fn)dlsym(nvml, "nvmlInit_v2");
        nvml_count_fn get_count = (nvml_count_fn)dlsym(nvml, "nvmlDeviceGetCount_v2");
        get_handle = (nvml_handle_fn)dlsym(nvml, "nvmlDeviceGetHandleByIndex_v2");
        get_name = (nvml_name_fn)dlsym(nvml, "nvmlDeviceGetName");
        get_mem = (nvml_mem_fn)dlsym(nvml, "nvmlDeviceGetMemoryInfo");
        dec_util = (nvml_util_fn)dlsym(nvml, "nvmlDeviceGetDecoderUtilization");
        shutdown = (nvml_void_fn)dlsym(nvml, "nvmlShutdown");
        if (init && get_count && get_handle && init() == 0) {
            nvml_ok = 1;
            if (get_count(&count) != 0) count = 0;
        }
        if (!nvml_ok) note("NVML: Driver is not loaded or installed; ");
    } else {
        note("NVML: libnvidia-ml.so.1 not present; ");
    }
    /* Without NVML, try CUDA device 0.. until one fails. */
    unsigned int tries = nvml_ok ? count : 8;
    int found = 0;
    for (unsigned int i = 0; i < tries && ndev < MAX_DEV; i++) {
        char idx[16];
        snprintf(idx, sizeof idx, "%u", i);
        AVBufferRef *ref = NULL;
        if (av_hwdevice_ctx_create(&ref, AV_HWDEVICE_TYPE_CUDA, idx, NULL, 0) < 0) {
            if (nvml_ok) note("NVIDIA %s: No supported CUDA computing unit; ", idx);
            if (!nvml_ok) break;
            continue;
        }
        omn_hw_device *d = &devs[ndev];
        memset(d, 0, sizeof *d);
        d->family = OMN_HW_NVIDIA;
        d->index = (int32_t)i;
        snprintf(d->name, sizeof d->name, "CUDA device %u", i);
        d->has_scaler = 1;
        d->has_decoder = 1;
        if (nvml_ok) {
            void *h = NULL;
            if (get_handle(i, &h) == 0) {
                d->from_nvml = 1;
                if (get_name) get_name(h, d->name, sizeof d->name);
                nvml_memory m;
                if (get_mem && get_mem(h, &m) == 0) d->memory_total = m.total;
                unsigned int util = 0, period = 0;
                if (dec_util && dec_util(h, &util, &period) != 0) d->has_decoder = 0;
            }
        }
        d->has_encoder = nvenc_opens((int)i);
        dev_ctx[ndev++] = ref;
        found++;
        note("NVIDIA %u %s: NVDEC %s, NVENC %s; ", i, d->name, d->has_decoder ? "yes" : "no",
             d->has_encoder ? "yes" : "no");
    }
    if (!found) note("No supported NVIDIA accelerator; ");
    if (nvml_ok && shutdown) shutdown();
    if (nvml) dlclose(nvml);
}

static void probe_one(enum AVHWDeviceType type, int family, const char *label, const char *encoder,
                      const char *decoder)
{
    AVBufferRef *ref = NULL;
    if (ndev >= MAX_DEV || av_hwdevice_ctx_create(&ref, type, NULL, NULL, 0) < 0) {
        note("%s: none; ", label);
        return;
    }
    omn_hw_device *d = &devs[ndev];
    memset(d, 0, sizeof *d);
    d->family = family;
    d->index = 0;
    snprintf(d->name, sizeof d->name, "%s device 0", label);
    d->has_decoder = avcodec_find_decoder_by_name(decoder) != NULL || type == AV_HWDEVICE_TYPE_VAAPI;
    d->has_encoder = avcodec_find_encoder_by_name(encoder) != NULL;
    d->has_scaler = 1;
    dev_ctx[ndev++] = ref;
    note("%s: device 0, decoder %s, encoder %s; ", label, d->has_decoder ? "yes" : "no",
         d->has_encoder ? "yes" : "no");
}

static void probe_locked(void)
{
    if (probed) return;
    probed = 1;
    int level = av_log_get_level();
    av_log_set_level(AV_LOG_QUIET);       /* absent devices are the normal case */
    probe_nvidia();
    probe_one(AV_HWDEVICE_TYPE_QSV, OMN_HW_QSV, "QSV", "h264_qsv", "h264_qsv");
    probe_one(AV_HWDEVICE_TYPE_VAAPI, OMN_HW_VAAPI, "VAAPI", "h264_vaapi", "h264");
    av_log_set_level(level);
}

int omn_hw_probe(omn_hw_device *out, int32_t cap, char *log, size_t log_cap)
{
    pthread_mutex_lock(&hw_lock);
    probe_locked();
    for (int i = 0; i < ndev && i < cap; i++) out[i] = devs[i];
    if (log && log_cap) snprintf(log, log_cap, "%s", probe_log);
    int n = ndev;
    pthread_mutex_unlock(&hw_lock);
    return n;
}

static int find(int family, int index)
{
    for (int i = 0; i < ndev; i++)
        if (devs[i].family == family && devs[i].index == index) return i;
    return -1;
}

AVBufferRef *omn_hw_device_ref(int family, int index)
{
    pthread_mutex_lock(&hw_lock);
    probe_locked();
    int i = find(family, index);
    AVBufferRef *r = i >= 0 && dev_ctx[i] ? av_buffer_ref(dev_ctx[i]) : NULL;
    pthread_mutex_unlock(&hw_lock);
    return r;
}

int omn_hw_has_engine(int family, int index, int encoder)
{
    pthread_mutex_lock(&hw_lock);
    probe_locked();
    int i = find(family, index);
    int yes = i >= 0 && (encoder ? devs[i].has_encoder : devs[i].has_decoder);
    pthread_mutex_unlock(&hw_lock);
    return yes;
}

void omn_hw_acquire(int family, int index)
{
    pthread_mutex_lock(&hw_lock);
    int i = find(family, index);
    if (i >= 0) devs[i].sessions++;
    pthread_mutex_unlock(&hw_lock);
}

void omn_hw_release(int family, int index)
{
    pthread_mutex_lock(&hw_lock);
    int i = find(family, index);
    if (i >= 0 && devs[i].sessions > 0) devs[i].sessions--;
    pthread_mutex_unlock(&hw_lock);
}
