package jitter

// packetSamples returns how many 48 kHz samples an Opus packet holds, from
// its table-of-contents byte (RFC 6716 §3.1), or 0 if the packet is not a
// valid Opus packet of at most 120 ms.
func packetSamples(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	toc := p[0]
	config := int(toc >> 3)
	var frame int // samples per frame at 48 kHz
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		frame = [4]int{480, 960, 1920, 2880}[config%4]
	case config < 16: // hybrid: 10, 20 ms
		frame = [2]int{480, 960}[config%2]
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = [4]int{120, 240, 480, 960}[config%4]
	}
	var frames int
	switch toc & 3 {
	case 0:
		frames = 1
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 {
			return 0
		}
		frames = int(p[1] & 0x3f)
	}
	n := frames * frame
	if n == 0 || n > maxFrame {
		return 0
	}
	return n
}
