import json,sys,statistics as st
R=json.load(open('/tmp/snapx/results.json'))
def med(xs): return st.median(xs)
for mem in (256,128):
    c=R[str(('cold',mem))]; ch=med([x['hello'] for x in c]); cr=med([x['reply'] for x in c])
    print(f'mem {mem}: cold N={len(c)} hello med {ch:.3f} (min {min(x["hello"] for x in c):.3f} max {max(x["hello"] for x in c):.3f}) start->reply(true) {cr:.3f}')
    for mode in ('exec','fd','file'):
        s=R[str(('snap',mode,mem))]; r=R[str(('restore',mode,mem))]; p=R[str(('preload',mode,mem))]
        print(f'  {mode:5} snap N={len(s)} migrate {med([x["migrate_s"] for x in s])*1000:.0f} ms, stream {s[-1]["snap_bytes"]/1e6:.1f} MB'
              + (f', RAM file {s[-1]["ram_file_bytes"]>>20} MiB ({s[-1]["ram_file_alloc"]>>20} MiB allocated)' if mode=='file' else ''))
        lo=med([x['loaded'] for x in r]); cc=med([x['cont_to_reply'] for x in r]); rr=med([x['reply'] for x in r])
        print(f'        restore N={len(r)} start->loaded {lo*1000:.0f} ms, cont->reply {cc*1000:.0f} ms, start->reply {rr*1000:.0f} ms '
              f'(min {min(x["reply"] for x in r)*1000:.0f} max {max(x["reply"] for x in r)*1000:.0f}); /cold-hello {rr/ch:.3f}  /cold-reply {rr/cr:.3f}')
        pc=med([x['cont_to_reply'] for x in p])
        print(f'        preload(cold TB) N={len(p)} cont->reply {pc*1000:.0f} ms (min {min(x["cont_to_reply"] for x in p)*1000:.0f} max {max(x["cont_to_reply"] for x in p)*1000:.0f}); /cold-hello {pc/ch:.3f}')
        print('        all rc:', set(str(x.get('rc')) for x in r+p), 'exits', set(str(x.get('exit')) for x in r+p))
    print('  loadavg during runs:', sorted(set(x['load'] for k,v in R.items() if str(mem) in k for x in v)))
W=json.load(open('/tmp/snapx/results-warm-file.json'))
print('warm (file,256) N=%d: after cont: [cont..end of all 4 execs, 1st exec(true), 2nd, 3rd, 4th (sh -c echo)]:'%len(W['seq']),[round(med([y[j] for y in W['seq']])*1000) for j in range(5)],'ms')
print('  warm_stopped cont->reply med %.0f ms (min %.0f max %.0f); warm_running exec->reply %.0f ms'%(med(W['warm_stopped'])*1000,min(W['warm_stopped'])*1000,max(W['warm_stopped'])*1000,med(W['warm_running'])*1000))
print('  cold boot: 1st exec after HELLO %.0f ms, 2nd %.0f, 3rd %.0f'%tuple(med([y[j] for y in W['cold_seq']])*1000 for j in range(3)))
