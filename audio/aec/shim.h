// A C interface to webrtc-audio-processing 0.3's webrtc::AudioProcessing
// (the C++ API Debian 12 ships), for cgo.
#ifndef PARLEY_AEC_SHIM_H
#define PARLEY_AEC_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct parley_apm parley_apm;

typedef struct {
	int rate;  // 8000, 16000, 32000 or 48000; mono, 10 ms frames
	int aec, ns, agc;
	int aec_suppression;  // EchoCancellation::SuppressionLevel
	int ns_level;         // NoiseSuppression::Level
	int agc_target_dbfs;  // GainControl::set_target_level_dbfs
	int agc_gain_db;      // GainControl::set_compression_gain_db
} parley_apm_config;

// parley_apm_new makes an APM, or returns NULL with the failing call's
// error (an AudioProcessing::Error) in *err.
parley_apm *parley_apm_new(const parley_apm_config *c, int *err);
// parley_apm_process processes a 10 ms frame of the microphone in place;
// ref, if not NULL, is the frame of the far end to hand in first. It
// returns ProcessStream's result.
int parley_apm_process(parley_apm *a, int16_t *pcm, const int16_t *ref);
// parley_apm_delay reports the AEC's delay metrics in ms: the median and
// standard deviation of the delay its estimator found, since the last
// call (-1 for none).
int parley_apm_delay(parley_apm *a, int *median, int *std);
// parley_apm_metrics reports the AEC's average echo return loss, its
// enhancement, and the enhancement before the non-linear processor
// (A_NLP), in dB.
int parley_apm_metrics(parley_apm *a, int *erl, int *erle, int *anlp);
// parley_apm_instant reports the same over the module's last period
// (about 1 s) that had echo in it.
int parley_apm_instant(parley_apm *a, int *erl, int *erle, int *anlp);
// parley_apm_has_echo reports whether the AEC took the last frame to hold
// echo (EchoCancellation::stream_has_echo).
int parley_apm_has_echo(parley_apm *a);
void parley_apm_free(parley_apm *a);

#ifdef __cplusplus
}
#endif

#endif
