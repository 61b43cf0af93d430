# shellcheck shell=bash
# template-lib.sh — the one code path from a template tree to a template
# folder, sourced by build-guest (`minimal`, from busybox) and
# build-template (`debian-12`, from mmdebstrap). See guest/README.md and
# docs/templates.md.
#
#   tl_finish_tree ROOT DISTRO        Bulkhead's files into the tree
#   tl_make_template ROOT OUT NAME KVER MIN_MIB HEADROOM_MIB [CONF_FILE]
#                                     OUT/root.img, template.conf,
#                                     SHA256SUMS
#
# The caller defines die CODE MESSAGE and E_BUILD, and may set
# TL_GUEST_TOOLS (a folder of guest tools; empty or missing is fine).
# bash, with set -euo pipefail in the caller.

# Where guest tools (bh-copy, bh-filecopy-recv, bh-call...) go in a
# template, and the RPC services that name them.
TL_TOOLS_DIR=usr/bin
TL_RPC_DIR=etc/bulkhead/rpc
# service name -> tool that implements it, installed when the tool exists.
declare -A TL_RPC_SERVICES=(
    [bulkhead.Filecopy]=bh-filecopy-recv
    [bulkhead.OpenInVM]=bh-openinvm-serve
)

# tl_default_tools: the installed guest tools folder, next to this file
# (installed in PREFIX/share/bulkhead/guest: PREFIX/lib/bulkhead/guest-tools)
# or /usr/local's; "" when there is none.
tl_default_tools() {
    local here
    here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
    for d in "$here/../../../lib/bulkhead/guest-tools" /usr/local/lib/bulkhead/guest-tools; do
        if [[ -d $d ]]; then readlink -f "$d"; return 0; fi
    done
    echo ""
}

# tl_tools_hash: sha256 over the guest tools' names and contents (for the
# callers' cache keys); "none" when there are none.
tl_tools_hash() {
    local dir=${TL_GUEST_TOOLS:-} f
    [[ -n $dir && -d $dir ]] || { echo none; return 0; }
    (
        cd "$dir" || exit 1
        for f in *; do
            [[ -f $f ]] && printf '%s %s\n' "$f" "$(sha256sum <"$f" | awk '{ print $1 }')"
        done
        echo end
    ) | sha256sum | awk '{ print $1 }'
}

# tl_finish_tree ROOT DISTRO: the mount points the agent needs (/rw, the
# private volume; /home, bound from /rw/home), /etc/bulkhead/rpc with the
# standard services, the guest tools, /usr/lib/bulkhead/template, and the
# `user` account (uid 1000, home /home/user, which lives on /rw) when the
# tree has none.
tl_finish_tree() {
    local root=$1 distro=$2 f name svc tool
    mkdir -p "$root"/{dev,proc,sys,run,tmp,rw,home,root,mnt} \
        "$root/$TL_RPC_DIR" "$root/usr/lib/bulkhead" "$root/$TL_TOOLS_DIR"
    chmod 1777 "$root/tmp"
    chmod 0700 "$root/root"
    # /home is bound from the private volume at boot: whatever the tree
    # has there would be hidden anyway.
    find "$root/home" -mindepth 1 -delete
    echo "$distro" >"$root/usr/lib/bulkhead/template"
    if [[ -n ${TL_GUEST_TOOLS:-} && -d $TL_GUEST_TOOLS ]]; then
        for f in "$TL_GUEST_TOOLS"/*; do
            [[ -f $f && -x $f ]] || continue
            name=$(basename "$f")
            install -m 0755 "$f" "$root/$TL_TOOLS_DIR/$name"
        done
    fi
    for svc in "${!TL_RPC_SERVICES[@]}"; do
        tool=${TL_RPC_SERVICES[$svc]}
        if [[ -x $root/$TL_TOOLS_DIR/$tool ]]; then
            ln -sfn "/$TL_TOOLS_DIR/$tool" "$root/$TL_RPC_DIR/$svc"
        fi
    done
    tl_add_user "$root"
}

# tl_add_user ROOT: root and `user` (1000) with locked passwords, written
# directly (no chroot, no useradd), unless the tree already has `user`.
tl_add_user() {
    local root=$1 shell=/bin/sh
    [[ -x $root/bin/bash ]] && shell=/bin/bash
    touch "$root/etc/passwd" "$root/etc/group" "$root/etc/shadow"
    grep -q '^root:' "$root/etc/passwd" || echo 'root:x:0:0:root:/root:/bin/sh' >>"$root/etc/passwd"
    grep -q '^root:' "$root/etc/group" || echo 'root:x:0:' >>"$root/etc/group"
    grep -q '^root:' "$root/etc/shadow" || echo 'root:!::0:99999:7:::' >>"$root/etc/shadow"
    if ! grep -q '^user:' "$root/etc/passwd"; then
        grep -q '^[^:]*:[^:]*:1000:' "$root/etc/passwd" &&
            die "$E_BUILD" "uid 1000 is taken in the template tree; cannot add \`user\`"
        echo "user:x:1000:1000:user:/home/user:$shell" >>"$root/etc/passwd"
        grep -q '^user:' "$root/etc/group" || echo 'user:x:1000:' >>"$root/etc/group"
        echo 'user:!::0:99999:7:::' >>"$root/etc/shadow"
    fi
    chmod 0640 "$root/etc/shadow"
    [[ -e $root/etc/gshadow ]] && ! grep -q '^user:' "$root/etc/gshadow" &&
        echo 'user:!::' >>"$root/etc/gshadow"
    return 0
}

# tl_image_mib ROOT MIN_MIB HEADROOM_MIB: an image size (MiB) that holds
# the tree with ext4's overhead (inode tables, directories: ~20%) plus
# HEADROOM_MIB free, at least MIN_MIB, rounded up to 4 MiB.
tl_image_mib() {
    local root=$1 min=$2 headroom=$3 used_kib mib
    used_kib=$(du -sxk -- "$root" | awk '{ print $1 }')
    mib=$(((used_kib * 6 / 5) / 1024 + headroom))
    ((mib >= min)) || mib=$min
    echo $(((mib + 3) / 4 * 4))
}

# tl_make_template ROOT OUT NAME KVER MIN_MIB HEADROOM_MIB [CONF_FILE]:
# makes OUT (which must exist) hold root.img (sparse ext4, label bh-root,
# no journal: a TemplateVM's changes count only after a clean shutdown),
# template.conf (name=, kernel=, built=, root_mib=, then CONF_FILE's
# lines) and SHA256SUMS over root.img.
tl_make_template() {
    local root=$1 out=$2 name=$3 kver=$4 min=$5 headroom=$6 conf=${7:-} mib
    mib=$(tl_image_mib "$root" "$min" "$headroom")
    truncate -s "${mib}M" "$out/root.img"
    if ! mke2fs -q -t ext4 -b 4096 -d "$root" -L bh-root -E root_owner=0:0 -O ^has_journal \
        "$out/root.img" "${mib}M" 2>"$out/mke2fs.log"; then
        cat "$out/mke2fs.log" >&2
        if grep -qi 'no space left' "$out/mke2fs.log"; then
            die "${E_SPACE:-$E_BUILD}" "no space left for root.img ($mib MiB sparse) in $out; free space and run again"
        fi
        die "$E_BUILD" "mke2fs could not build root.img ($mib MiB) from the template tree; see the messages above"
    fi
    rm -f "$out/mke2fs.log"
    chmod 0644 "$out/root.img"
    {
        printf 'name=%s\nkernel=%s\nbuilt=%s\nroot_mib=%s\n' "$name" "$kver" \
            "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$mib"
        [[ -z $conf ]] || cat "$conf"
    } >"$out/template.conf"
    (cd "$out" && sha256sum root.img >SHA256SUMS)
}
