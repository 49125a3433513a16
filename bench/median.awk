# median(key): the median of the values the report scripts keep under
# @key (val[key, 1..cnt[key]]), or "" when there are none. Shared by the
# benchmark reports, run as `awk -f bench/median.awk -f bench/NAME.awk`.
# POSIX awk (mawk).
function median(key,    n, i, j, v, a) {
	n = cnt[key]
	if (n == 0)
		return ""
	for (i = 1; i <= n; i++)
		a[i] = val[key, i] + 0
	for (i = 2; i <= n; i++) {	# insertion sort: n is small
		v = a[i]
		for (j = i - 1; j >= 1 && a[j] > v; j--)
			a[j + 1] = a[j]
		a[j + 1] = v
	}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
