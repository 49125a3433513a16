# shellcheck shell=sh
# Helpers shared by figment's guest and lab build scripts (sourced, POSIX sh).
# Conventions: quiet when everything is cached, one line per step on stderr
# when building, build logs in the cache, their tail printed on failure.

# fig_step MESSAGE: one progress line on stderr.
fig_step() {
	echo "figment: $*" >&2
}

# fig_die MESSAGE: error line on stderr, exit 1.
fig_die() {
	echo "figment: error: $*" >&2
	exit 1
}

# fig_logged LOG CMD...: run CMD with stdout+stderr appended to LOG; on failure
# print the log's tail and the command, and exit 1.
fig_logged() {
	_log=$1
	shift
	if ! "$@" >>"$_log" 2>&1; then
		echo "figment: error: command failed: $*" >&2
		echo "figment: last lines of $_log:" >&2
		tail -n 30 "$_log" >&2
		exit 1
	fi
}

# fig_key FILE-OR-STRING...: a hash of the contents of the named files (or of
# the words themselves when they are not files); used as cache keys.
fig_key() {
	for _k in "$@"; do
		if [ -f "$_k" ]; then
			echo "file:"
			cat "$_k"
		else
			echo "word:$_k"
		fi
	done | sha256sum | cut -c1-16
}

# fig_fileid FILE: a cheap identity for a big input file (size, mtime, name).
fig_fileid() {
	stat -L -c '%n:%s:%Y' "$1"
}

# fig_stamp_ok STAMP KEY: true when STAMP exists and holds KEY.
fig_stamp_ok() {
	[ -f "$1" ] && [ "$(cat "$1")" = "$2" ]
}

# fig_stamp_write STAMP KEY
fig_stamp_write() {
	echo "$2" >"$1.tmp" && mv -f "$1.tmp" "$1"
}

# fig_copy_binary ROOT BIN DEST: copy the dynamically linked executable BIN to
# ROOT/DEST, and every shared library it needs (ldd), the dynamic loader
# included, to the same absolute paths under ROOT. A static BIN is copied alone.
fig_copy_binary() {
	_root=$1 _bin=$2 _dest=$3
	mkdir -p "$_root$(dirname "$_dest")"
	cp -L "$_bin" "$_root$_dest"
	ldd "$_bin" 2>/dev/null | awk '
		$2 == "=>" && $3 ~ /^\// { print $3 }
		$2 == "=>" && $3 == "not" { print "MISSING:" $1 }
		$1 ~ /^\// { print $1 }' | while read -r _lib; do
		case $_lib in
		MISSING:*) fig_die "$_bin needs ${_lib#MISSING:}, which ldd cannot find" ;;
		esac
		mkdir -p "$_root$(dirname "$_lib")"
		[ -e "$_root$_lib" ] || cp -L "$_lib" "$_root$_lib"
	done
}

# fig_cpio DIR OUT [gzip|none]: pack DIR as a newc cpio (owner root) into OUT.
fig_cpio() {
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
		if [ "${3:-none}" = gzip ]; then gzip -6n; else cat; fi >"$2.tmp"
	mv -f "$2.tmp" "$2"
}
