/*
 * Reference implementation of kvmclock's clock arithmetic, written in C for the Java tests
 * (ClockArithmeticProperties). It follows the kernel's formulas with native u64 and unsigned __int128,
 * independently of the Java code. One query per input line, one answer line per query:
 *   ts SCALED BASE         -> MUL SHIFT         kvm_get_time_scale
 *   sd DELTA MUL SHIFT     -> NS                pvclock_scale_delta
 *   hz MUL SHIFT           -> HZ                hvclock_to_hz
 *   cs KHZ                 -> MULT SHIFT        TSC clocksource mult/shift (maxsec 600, overflow guard)
 *   cyc CYCLES MULT SHIFT  -> NS                floor(cycles * mult / 2^shift)
 *   ratio USER HOST FRAC   -> RATIO             floor(2^frac * user / host)
 *   scale TSC RATIO FRAC   -> TSC               floor(tsc * ratio / 2^frac)
 *   read HEX64 TSC         -> NS                kvmclock from a raw 32-byte pvclock_vcpu_time_info
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

typedef unsigned __int128 u128;

static void time_scale(uint64_t scaled, uint64_t base, int *shift_out, uint32_t *mul_out)
{
	int shift = 0;
	uint64_t tps = base;
	uint32_t tps32;

	while (tps > 2 * scaled || (tps >> 32) != 0) {
		tps >>= 1;
		shift -= 1;
	}
	tps32 = (uint32_t)tps;
	while (tps32 <= scaled || (scaled >> 32) != 0) {
		if ((scaled >> 32) != 0 || (tps32 >> 31) != 0)
			scaled >>= 1;
		else
			tps32 <<= 1;
		shift += 1;
	}
	*shift_out = shift;
	*mul_out = (uint32_t)((((uint64_t)(uint32_t)scaled) << 32) / tps32);
}

static uint64_t scale_delta(uint64_t delta, uint32_t mul, int shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((u128)delta * mul) >> 32);
}

static uint64_t to_hz(uint32_t mul, int shift)
{
	uint64_t tm = 1000000000ULL << 34;
	int s = shift + 2;

	while ((mul & 1) == 0) {
		mul >>= 1;
		s++;
	}
	tm /= mul;
	return s > 0 ? tm >> s : tm << -s;
}

static void tsc_clocksource(uint64_t khz, uint32_t *mult_out, int *shift_out)
{
	uint64_t maxsec = 600 * 1000, to = 1000000, m = 0;
	uint64_t t = (uint64_t)(((u128)maxsec * khz) >> 32);
	int acc = 32, s;
	uint32_t mult;

	for (; t; t >>= 1)
		acc--;
	for (s = 32; s > 0; s--) {
		m = ((to << s) + khz / 2) / khz;
		if ((m >> acc) == 0)
			break;
	}
	mult = (uint32_t)m;
	for (;;) {
		uint32_t adj = (uint32_t)((uint64_t)mult * 11 / 100);
		uint32_t up = mult + adj, down = mult - adj;
		if (up >= mult && down <= mult)
			break;
		mult >>= 1;
		s--;
	}
	*mult_out = mult;
	*shift_out = s;
}

static uint64_t le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

int main(void)
{
	char line[512], op[16];

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "%15s", op) != 1)
			continue;
		if (!strcmp(op, "ts")) {
			uint64_t a, b; int sh; uint32_t mul;
			sscanf(line + 2, "%" SCNu64 " %" SCNu64, &a, &b);
			time_scale(a, b, &sh, &mul);
			printf("%" PRIu32 " %d\n", mul, sh);
		} else if (!strcmp(op, "sd")) {
			uint64_t d; uint32_t mul; int sh;
			sscanf(line + 2, "%" SCNu64 " %" SCNu32 " %d", &d, &mul, &sh);
			printf("%" PRIu64 "\n", scale_delta(d, mul, sh));
		} else if (!strcmp(op, "hz")) {
			uint32_t mul; int sh;
			sscanf(line + 2, "%" SCNu32 " %d", &mul, &sh);
			printf("%" PRIu64 "\n", to_hz(mul, sh));
		} else if (!strcmp(op, "cs")) {
			uint64_t khz; uint32_t mult; int sh;
			sscanf(line + 2, "%" SCNu64, &khz);
			tsc_clocksource(khz, &mult, &sh);
			printf("%" PRIu32 " %d\n", mult, sh);
		} else if (!strcmp(op, "cyc")) {
			uint64_t c; uint32_t mult; int sh;
			sscanf(line + 3, "%" SCNu64 " %" SCNu32 " %d", &c, &mult, &sh);
			printf("%" PRIu64 "\n", (uint64_t)(((u128)c * mult) >> sh));
		} else if (!strcmp(op, "ratio")) {
			uint64_t u, h; int frac;
			sscanf(line + 5, "%" SCNu64 " %" SCNu64 " %d", &u, &h, &frac);
			printf("%" PRIu64 "\n", (uint64_t)((((u128)1 << frac) * u) / h));
		} else if (!strcmp(op, "scale")) {
			uint64_t t, r; int frac;
			sscanf(line + 5, "%" SCNu64 " %" SCNu64 " %d", &t, &r, &frac);
			printf("%" PRIu64 "\n", (uint64_t)(((u128)t * r) >> frac));
		} else if (!strcmp(op, "read")) {
			char hex[65]; uint64_t tsc; unsigned char b[32];
			sscanf(line + 4, "%64s %" SCNu64, hex, &tsc);
			for (int i = 0; i < 32; i++) {
				unsigned v;
				sscanf(hex + 2 * i, "%2x", &v);
				b[i] = (unsigned char)v;
			}
			uint64_t ts = le(b + 8, 8), sys = le(b + 16, 8);
			uint32_t mul = (uint32_t)le(b + 24, 4);
			int sh = (int8_t)b[28];
			printf("%" PRIu64 "\n", sys + scale_delta(tsc - ts, mul, sh));
		} else {
			printf("error unknown op %s\n", op);
		}
	}
	return 0;
}
