# bash completion for bh, the Bulkhead command line.
# Qube names come from `bh ls --raw`, property names from `bh prefs`; both
# only when a daemon already listens, so that pressing TAB never starts one.
# COMPREPLY=($(compgen ...)) is the usual idiom: words have no spaces here.
# shellcheck disable=SC2207

_bh_daemon_up() {
	[ -S "${BULKHEAD_ROOT%/}/run/bulkhead/admin.sock" ]
}

_bh_qubes() {
	_bh_daemon_up && bh ls --raw 2>/dev/null </dev/null
}

# _bh_props QUBE|--global: the property names.
_bh_props() {
	_bh_daemon_up && bh prefs "$1" 2>/dev/null </dev/null | awk '{ print $1 }'
}

_bh() {
	local cur prev verb i words_left
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "run copy create remove ls prefs features tags start shutdown kill pause unpause restart doctor clone volume template console log events daemon policy policy-agent help --help --version" -- "$cur"))
		return
	fi
	verb=${COMP_WORDS[1]}
	# Words after the verb that are not options: which argument is this?
	words_left=()
	for ((i = 2; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-t | --template | -l | --label | -P | --property | -C | --class | -f | --format | -u | --unset | --user | -e | --env | --service | --answer | -n | --lines | --include | --mirror | --name | --cache) ((i++)) ;;
		-*) ;;
		*) words_left+=("${COMP_WORDS[i]}") ;;
		esac
	done
	case $prev in
	-l | --label)
		COMPREPLY=($(compgen -W "red orange yellow green gray blue purple black" -- "$cur"))
		return ;;
	-C | --class)
		COMPREPLY=($(compgen -W "AppVM TemplateVM StandaloneVM" -- "$cur"))
		return ;;
	-t | --template)
		COMPREPLY=($(compgen -W "$(_bh_qubes)" -- "$cur"))
		return ;;
	-f | --format)
		if [ "$verb" = doctor ]; then
			COMPREPLY=($(compgen -W "text json" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "table json raw" -- "$cur"))
		fi
		return ;;
	-n | --lines)
		return ;;
	-P | --property)
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -S = -W "memory vcpus kernel kernelopts netvm default_dispvm autostart include_in_backups default_user" -- "$cur"))
		return ;;
	esac
	case $verb in
	help)
		COMPREPLY=($(compgen -W "run copy create remove ls prefs features tags start shutdown kill pause unpause restart doctor clone volume template console log events daemon policy policy-agent" -- "$cur")) ;;
	run)
		case $prev in
		-u | --user | --service) return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--dispvm --service --user --no-autostart --autostart --env --pass-io --no-filter-escape-chars --filter-escape-chars --help" -- "$cur"))
		elif [ "${#words_left[@]}" -eq 0 ]; then
			COMPREPLY=($(compgen -W "$(_bh_qubes)" -- "$cur"))
		fi ;;
	copy)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--move --help" -- "$cur"))
		elif [ "${#words_left[@]}" -eq 0 ]; then
			COMPREPLY=($(compgen -W "$(_bh_qubes)" -- "$cur"))
		else
			# Files may have spaces: one per line.
			compopt -o filenames 2>/dev/null
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		fi ;;
	policy-agent)
		if [ "$prev" = --answer ]; then
			COMPREPLY=($(compgen -W "allow deny" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "--x11 --answer --once --help" -- "$cur"))
		fi ;;
	start|kill|pause|unpause|restart)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_bh_qubes)" -- "$cur"))
		fi ;;
	shutdown)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--wait --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_bh_qubes)" -- "$cur"))
		fi ;;
	create)
		COMPREPLY=($(compgen -W "--class --template --label --property --help" -- "$cur")) ;;
	remove)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--yes --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_bh_qubes)" -- "$cur"))
		fi ;;
	ls)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--format --raw --running --halted --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_bh_qubes)" -- "$cur"))
		fi ;;
	prefs)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--global --default --help" -- "$cur"))
		elif [[ " ${COMP_WORDS[*]} " == *" --global "* || " ${COMP_WORDS[*]} " == *" -g "* ]]; then
			[ "${#words_left[@]}" -eq 0 ] &&
				COMPREPLY=($(compgen -W "$(_bh_props --global)" -- "$cur"))
		elif [ "${#words_left[@]}" -eq 0 ]; then
			COMPREPLY=($(compgen -W "$(_bh_qubes)" -- "$cur"))
		elif [ "${#words_left[@]}" -eq 1 ]; then
			COMPREPLY=($(compgen -W "$(_bh_props "${words_left[0]}")" -- "$cur"))
		fi ;;
	features)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--unset --help" -- "$cur"))
		elif [ "${#words_left[@]}" -eq 0 ]; then
			COMPREPLY=($(compgen -W "$(_bh_qubes)" -- "$cur"))
		fi ;;
	doctor)
		COMPREPLY=($(compgen -W "--format --help" -- "$cur")) ;;
	clone)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--help" -- "$cur"))
		elif [ "${#words_left[@]}" -eq 0 ]; then
			COMPREPLY=($(compgen -W "$(_bh_qubes)" -- "$cur"))
		fi ;;
	volume)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--help" -- "$cur"))
		elif [ "${#words_left[@]}" -eq 0 ]; then
			COMPREPLY=($(compgen -W "list resize" -- "$cur"))
		elif [ "${#words_left[@]}" -eq 1 ]; then
			COMPREPLY=($(compgen -W "$(_bh_qubes)" -- "$cur"))
		elif [ "${#words_left[@]}" -eq 2 ] && [ "${words_left[0]}" = resize ]; then
			COMPREPLY=($(compgen -W "private" -- "$cur"))
		fi ;;
	template)
		case $prev in
		--include | --mirror | --name) return ;;
		--cache) COMPREPLY=($(compgen -d -- "$cur")); return ;;
		esac
		if [[ $cur == -* ]]; then
			if [ "${words_left[0]:-}" = build ]; then
				COMPREPLY=($(compgen -W "--include --mirror --name --label --cache --no-cache --help" -- "$cur"))
			else
				COMPREPLY=($(compgen -W "--yes --help" -- "$cur"))
			fi
		elif [ "${#words_left[@]}" -eq 0 ]; then
			COMPREPLY=($(compgen -W "list info build remove" -- "$cur"))
		elif [ "${#words_left[@]}" -eq 1 ] && [ "${words_left[0]}" = build ]; then
			COMPREPLY=($(compgen -W "debian-12" -- "$cur"))
		elif [ "${#words_left[@]}" -eq 1 ] && { [ "${words_left[0]}" = remove ] || [ "${words_left[0]}" = info ]; }; then
			COMPREPLY=($(compgen -W "$(_bh_qubes)" -- "$cur"))
		fi ;;
	console|log)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--lines --help" -- "$cur"))
		elif [ "${#words_left[@]}" -eq 0 ]; then
			COMPREPLY=($(compgen -W "$(_bh_qubes)" -- "$cur"))
		fi ;;
	events)
		COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
	daemon)
		if [[ $cur == -* ]]; then
			if [ "${words_left[0]:-}" = stop ]; then
				COMPREPLY=($(compgen -W "--keep-qubes --help" -- "$cur"))
			else
				COMPREPLY=($(compgen -W "--help" -- "$cur"))
			fi
		elif [ "${#words_left[@]}" -eq 0 ]; then
			COMPREPLY=($(compgen -W "status stop restart" -- "$cur"))
		fi ;;
	policy)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--help" -- "$cur"))
		elif [ "${#words_left[@]}" -eq 0 ]; then
			COMPREPLY=($(compgen -W "lint check" -- "$cur"))
		elif [ "${words_left[0]}" = check ] && [ "${#words_left[@]}" -eq 1 ]; then
			COMPREPLY=($(compgen -W "dom0 $(_bh_qubes)" -- "$cur"))
		elif [ "${words_left[0]}" = check ] && [ "${#words_left[@]}" -eq 2 ]; then
			COMPREPLY=($(compgen -W "@default @dispvm @adminvm $(_bh_qubes)" -- "$cur"))
		fi ;;
	tags)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--help" -- "$cur"))
		elif [ "${#words_left[@]}" -eq 0 ]; then
			COMPREPLY=($(compgen -W "$(_bh_qubes)" -- "$cur"))
		elif [ "${#words_left[@]}" -eq 1 ]; then
			COMPREPLY=($(compgen -W "list add del" -- "$cur"))
		fi ;;
	esac
}
complete -F _bh bh
