/*
 * The statistics behind `ktstr compare`: mean, variance and Welch's t
 * test (unequal variances, since two schedulers or kernels rarely share
 * one), with the t distribution's tail from the regularized incomplete
 * beta function evaluated by its continued fraction (modified Lentz).
 * Small on purpose: a handful of repeats per side is the common case.
 *
 * exp, log, sqrt and log-gamma are computed here rather than taken from
 * libm: the library links libm statically, and Debian's libm.a can go
 * neither into a shared object nor into a dynamically linked program
 * (its exp and log are ifuncs resolved by static glibc only).  Accuracy
 * to ~1e-12 is far more than a p-value needs.
 */
#include "runner/compare.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define LN2 0.693147180559945309417

static double st_sqrt(double x)
{
	double r = x > 1 ? x : 1;

	if (!(x > 0))
		return 0;
	/* Newton from above converges monotonically */
	for (int i = 0; i < 200; i++) {
		double n = 0.5 * (r + x / r);

		if (n >= r)
			break;
		r = n;
	}
	return r;
}

/* x * 2^k through the exponent bits (normal results only, as used here). */
static double scale2(double x, int k)
{
	uint64_t bits;
	double p;

	if (k > 1023)
		return INFINITY;
	if (k < -1022)
		return 0;
	bits = (uint64_t)(k + 1023) << 52;
	memcpy(&p, &bits, sizeof(p));
	return x * p;
}

static double st_exp(double x)
{
	double k, r, term = 1, sum = 1;

	if (x > 709)
		return INFINITY;
	if (x < -745)
		return 0;
	/* x = k ln 2 + r with |r| <= ln 2 / 2, then the series of e^r */
	k = (double)(long)(x / LN2 + (x < 0 ? -0.5 : 0.5));
	r = x - k * LN2;
	for (int i = 1; i < 30; i++) {
		term *= r / i;
		sum += term;
		if (fabs(term) < 1e-17 * sum)
			break;
	}
	return scale2(sum, (int)k);
}

static double st_log(double x)
{
	uint64_t bits;
	int e;
	double m, z, z2, sum, term;

	if (!(x > 0))
		return -INFINITY;
	/* x = m 2^e with m in [1, 2), then log m = 2 atanh((m-1)/(m+1)) */
	memcpy(&bits, &x, sizeof(bits));
	e = (int)((bits >> 52) & 0x7ff) - 1023;
	if (e == -1023) {	/* subnormal: scale into the normal range first */
		return st_log(x * 0x1p54) - 54 * LN2;
	}
	bits = (bits & ((1ull << 52) - 1)) | (1023ull << 52);
	memcpy(&m, &bits, sizeof(m));
	if (m > 1.4142135623730951) {
		m /= 2;
		e++;
	}
	z = (m - 1) / (m + 1);
	z2 = z * z;
	term = z;
	sum = 0;
	for (int i = 1; i < 200; i += 2) {
		sum += term / i;
		term *= z2;
		if (fabs(term) < 1e-18)
			break;
	}
	return 2 * sum + e * LN2;
}

/* log Gamma(x) for x > 0: shift up to x >= 10, then Stirling's series. */
static double lg(double x)
{
	double shift = 0, x2;

	while (x < 10) {
		shift += st_log(x);
		x += 1;
	}
	x2 = x * x;
	return (x - 0.5) * st_log(x) - x + 0.91893853320467274178 +
	       (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - 1.0 / (1680 * x2)) / x2) / x2) / x - shift;
}

double kt_stats_mean(const double *x, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += x[i];
	return n ? s / (double)n : 0;
}

double kt_stats_var(const double *x, size_t n)
{
	double m = kt_stats_mean(x, n), s = 0;

	if (n < 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		s += (x[i] - m) * (x[i] - m);
	return s / (double)(n - 1);
}

/* The continued fraction of I_x(a, b), good for x < (a + 1) / (a + b + 2). */
static double beta_cf(double a, double b, double x)
{
	const double tiny = 1e-300, eps = 1e-14;
	double c = 1, d = 1 - (a + b) * x / (a + 1), h;

	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	h = d;
	for (int m = 1; m <= 300; m++) {
		/* even step: m (b - m) x / ((a + 2m - 1)(a + 2m)) */
		double num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)), del;

		d = 1 + num * d;
		c = 1 + num / c;
		if (fabs(d) < tiny)
			d = tiny;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		h *= d * c;
		/* odd step: -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)) */
		num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
		d = 1 + num * d;
		c = 1 + num / c;
		if (fabs(d) < tiny)
			d = tiny;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < eps)
			break;
	}
	return h;
}

double kt_stats_betai(double a, double b, double x)
{
	double front;

	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	front = st_exp(lg(a + b) - lg(a) - lg(b) + a * st_log(x) + b * st_log(1 - x));
	/* the fraction converges fast only below the mean; use the symmetry
	 * I_x(a, b) = 1 - I_{1-x}(b, a) above it */
	if (x < (a + 1) / (a + b + 2))
		return front * beta_cf(a, b, x) / a;
	return 1 - front * beta_cf(b, a, 1 - x) / b;
}

double kt_stats_t_p(double t, double df)
{
	if (!(df > 0))
		return 1;
	return kt_stats_betai(df / 2, 0.5, df / (df + t * t));
}

double kt_stats_welch_p(const double *a, size_t na, const double *b, size_t nb)
{
	double ma, mb, qa, qb, se2, t, df;

	if (na < 2 || nb < 2)
		return 1;
	ma = kt_stats_mean(a, na);
	mb = kt_stats_mean(b, nb);
	qa = kt_stats_var(a, na) / (double)na;
	qb = kt_stats_var(b, nb) / (double)nb;
	se2 = qa + qb;
	if (se2 <= 0)
		return ma == mb ? 1 : 0;
	t = (ma - mb) / st_sqrt(se2);
	/* Welch–Satterthwaite degrees of freedom */
	df = se2 * se2 / ((qa * qa) / (double)(na - 1) + (qb * qb) / (double)(nb - 1));
	return kt_stats_t_p(t, df);
}
