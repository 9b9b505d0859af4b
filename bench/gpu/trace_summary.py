#!/usr/bin/env python3
# trace_summary.py: GPU lanes of a DAG_TRACE file, per busy window (gaps > 20 ms split
# them): the union of the streams' busy time, and kernel spans per task label.
# usage: python3 bench/gpu/trace_summary.py trace.json
import json,sys,collections
d=json.load(open(sys.argv[1]));ev=d['traceEvents']
dev=[e for e in ev if e.get('cat')=='device']
tasks=[e for e in ev if e.get('cat')=='task']
names={e['tid']:e['args']['name'] for e in ev if e.get('ph')=='M' and e['name']=='thread_name'}
def union(iv):
    iv=sorted(iv);tot=0;cs,ce=None,None
    for s,e in iv:
        if ce is None or s>ce:
            if ce is not None: tot+=ce-cs
            cs,ce=s,e
        else: ce=max(ce,e)
    if ce is not None: tot+=ce-cs
    return tot
# group by call windows: split where gap > 20ms
iv=sorted((e['ts'],e['ts']+e['dur'],e['name'],e['tid']) for e in dev)
wins=[];cur=[]
for x in iv:
    if cur and x[0]-max(y[1] for y in cur[-50:])>20000: wins.append(cur);cur=[]
    cur.append(x)
if cur: wins.append(cur)
for w in wins:
    t0=min(x[0] for x in w);t1=max(x[1] for x in w)
    busy=union([(x[0],x[1]) for x in w])
    per=collections.defaultdict(lambda:[0,0.0])
    for x in w: per[x[2]][0]+=1;per[x[2]][1]+=x[1]-x[0]
    print("window %.1f ms, %d dev tasks, GPU busy (union) %.1f ms = %.0f%%"%((t1-t0)/1e3,len(w),busy/1e3,100*busy/(t1-t0)))
    for k,v in sorted(per.items(),key=lambda kv:-kv[1][1]): print("   %-12s n=%5d sum %8.1f ms mean %7.1f us"%(k,v[0],v[1]/1e3,v[1]/v[0]))
    st=collections.Counter(names.get(x[3],x[3]) for x in w); print("   lanes:",dict(st))
tn=collections.Counter(e['name'] for e in tasks);print("host task records:",tn.most_common(8))
print("host task dur by name (mean us):",{k:round(sum(e['dur'] for e in tasks if e['name']==k)/n,1) for k,n in tn.most_common(8)})
