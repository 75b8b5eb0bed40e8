//go:build !noaec

#include "shim.h"

#include <string.h>

#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

struct parley_apm {
	webrtc::AudioProcessing *apm;
	webrtc::AudioFrame capture, reverse;
	int rate, frame;
};

static void setup_frame(webrtc::AudioFrame *f, int rate, int frame) {
	f->sample_rate_hz_ = rate;
	f->num_channels_ = 1;
	f->samples_per_channel_ = frame;
}

extern "C" {

void parley_apm_free(parley_apm *a) {
	if (a == NULL) return;
	delete a->apm;
	delete a;
}

parley_apm *parley_apm_new(const parley_apm_config *c, int *err) {
	using webrtc::AudioProcessing;
	webrtc::Config config;
	// A 128 ms filter instead of 48 ms, and the delay found from the
	// signals rather than trusted from the caller.
	config.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
	config.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(true));
	// The experimental AGC drives a microphone's analog volume; this one
	// is digital.
	config.Set<webrtc::ExperimentalAgc>(new webrtc::ExperimentalAgc(false));
	parley_apm *a = new parley_apm;
	a->rate = c->rate;
	a->frame = c->rate / 100;
	a->apm = AudioProcessing::Create(config);
	if (a->apm == NULL) {
		*err = AudioProcessing::kCreationFailedError;
		delete a;
		return NULL;
	}
	int r;
#define TRY(call) if ((r = (call)) != AudioProcessing::kNoError) { *err = r; parley_apm_free(a); return NULL; }
	// The default is 16 kHz, at which the reverse stream of another rate
	// fails (kBadSampleRateError): the rate comes first.
	TRY(a->apm->Initialize(c->rate, c->rate, c->rate,
		AudioProcessing::kMono, AudioProcessing::kMono, AudioProcessing::kMono));
	webrtc::EchoCancellation *ec = a->apm->echo_cancellation();
	TRY(ec->enable_drift_compensation(false));
	TRY(ec->set_suppression_level((webrtc::EchoCancellation::SuppressionLevel)c->aec_suppression));
	TRY(ec->enable_delay_logging(true));
	TRY(ec->enable_metrics(true));
	TRY(ec->Enable(c->aec != 0));
	webrtc::NoiseSuppression *ns = a->apm->noise_suppression();
	TRY(ns->set_level((webrtc::NoiseSuppression::Level)c->ns_level));
	TRY(ns->Enable(c->ns != 0));
	webrtc::GainControl *gc = a->apm->gain_control();
	TRY(gc->set_mode(webrtc::GainControl::kAdaptiveDigital));
	TRY(gc->set_target_level_dbfs(c->agc_target_dbfs));
	TRY(gc->set_compression_gain_db(c->agc_gain_db));
	TRY(gc->enable_limiter(true));
	TRY(gc->Enable(c->agc != 0));
	TRY(a->apm->high_pass_filter()->Enable(false));
#undef TRY
	setup_frame(&a->capture, a->rate, a->frame);
	setup_frame(&a->reverse, a->rate, a->frame);
	return a;
}

int parley_apm_process(parley_apm *a, int16_t *pcm, const int16_t *ref) {
	size_t bytes = a->frame * sizeof *pcm;
	if (ref != NULL) {
		setup_frame(&a->reverse, a->rate, a->frame);
		memcpy(a->reverse.data_, ref, bytes);
		int r = a->apm->ProcessReverseStream(&a->reverse);
		if (r != webrtc::AudioProcessing::kNoError) return r;
		// The far end is lined up already (audio/aec holds it back by the
		// delay handed in); the AEC finds what is left.
		a->apm->set_stream_delay_ms(0);
	}
	setup_frame(&a->capture, a->rate, a->frame);
	memcpy(a->capture.data_, pcm, bytes);
	int r = a->apm->ProcessStream(&a->capture);
	if (r == webrtc::AudioProcessing::kNoError) memcpy(pcm, a->capture.data_, bytes);
	return r;
}

int parley_apm_metrics(parley_apm *a, int *erl, int *erle, int *anlp) {
	webrtc::EchoCancellation::Metrics m;
	int r = a->apm->echo_cancellation()->GetMetrics(&m);
	*erl = m.echo_return_loss.average;
	*erle = m.echo_return_loss_enhancement.average;
	*anlp = m.a_nlp.average;
	return r;
}

int parley_apm_instant(parley_apm *a, int *erl, int *erle, int *anlp) {
	webrtc::EchoCancellation::Metrics m;
	int r = a->apm->echo_cancellation()->GetMetrics(&m);
	*erl = m.echo_return_loss.instant;
	*erle = m.echo_return_loss_enhancement.instant;
	*anlp = m.a_nlp.instant;
	return r;
}

int parley_apm_has_echo(parley_apm *a) {
	return a->apm->echo_cancellation()->stream_has_echo() ? 1 : 0;
}

int parley_apm_delay(parley_apm *a, int *median, int *std) {
	return a->apm->echo_cancellation()->GetDelayMetrics(median, std);
}

}
