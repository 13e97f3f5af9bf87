"""Chain and target states as real 3FS computes them (pure functions, shared
by the mgmtd and storage stand-ins).

Upstream (deepseek-ai/3FS ee9a5ce):
* public states SERVING, LASTSRV, SYNCING, WAITING, OFFLINE and local states
  UPTODATE, ONLINE, OFFLINE: src/fbs/mgmtd/MgmtdTypes.h;
* how mgmtd recomputes a chain from its targets' local states:
  generateNewChain in src/mgmtd/service/updateChain.cc, a new chain version
  only when the list changed (MgmtdData::appendChangedChains,
  src/mgmtd/service/MgmtdData.cc);
* how a storage node moves its own local state when new routing info
  arrives: TargetMap::updateLocalState, and head/tail/successor in
  TargetMap::updateRouting (src/storage/service/TargetMap.cc);
* a chain's Status column: src/client/cli/admin/ListChains.cc.
"""

SERVING, LASTSRV, SYNCING, WAITING, OFFLINE = "SERVING", "LASTSRV", "SYNCING", "WAITING", "OFFLINE"
UPTODATE, ONLINE = "UPTODATE", "ONLINE"
ORDER = (SERVING, LASTSRV, SYNCING, WAITING, OFFLINE)


def generate_new_chain(old):
    """old: [(target id, public, local)] in chain order -> the new list, the
    same targets ordered SERVING, LASTSRV, SYNCING, WAITING, OFFLINE."""
    by_ps = {s: [] for s in ORDER}
    new = {s: [] for s in ORDER}
    for t in old:
        by_ps.setdefault(t[1], []).append(t)
    up = (ONLINE, UPTODATE)
    for tid, _, ls in by_ps[SERVING]:
        # all SERVING offlined: only the first becomes LASTSRV
        ps = SERVING if ls in up else LASTSRV if not new[LASTSRV] else OFFLINE
        new[ps].append((tid, ps, ls))
    for tid, _, ls in by_ps[LASTSRV]:
        if not new[SERVING]:
            ps = SERVING if ls in up else LASTSRV
        else:
            ps = OFFLINE
        new[ps].append((tid, ps, ls))
    for tid, _, ls in by_ps[SYNCING]:
        if ls == UPTODATE:
            ps = SERVING
        elif ls == ONLINE:
            ps = SYNCING if new[SERVING] else WAITING
        else:
            ps = OFFLINE
        new[ps].append((tid, ps, ls))
    for state in (WAITING, OFFLINE):
        for tid, _, ls in by_ps[state]:
            if new[SERVING] and not new[SYNCING] and ls == ONLINE:
                ps = SYNCING  # one target of a chain syncs at a time
            elif ls in up:
                ps = WAITING
            else:
                ps = OFFLINE
            new[ps].append((tid, ps, ls))
    if new[SERVING]:
        new[OFFLINE] = [(tid, OFFLINE, ls) for tid, _, ls in new[LASTSRV]] + new[OFFLINE]
        new[LASTSRV] = []
    return [t for s in ORDER for t in new[s]]


def update_local_state(local, public):
    """TargetMap::updateLocalState: an UPTODATE target that mgmtd no longer
    lets serve goes OFFLINE; an ONLINE one that mgmtd made SERVING is UPTODATE."""
    if local == UPTODATE and public in (OFFLINE, LASTSRV, WAITING):
        return OFFLINE
    if local == ONLINE and public == SERVING:
        return UPTODATE
    return local


def place_in_chain(tids, public, tid):
    """TargetMap::updateRouting for target tid of a chain: (is_head, is_tail,
    successor id or None). Head: serving (SERVING or SYNCING) and first;
    successor: the first SERVING or SYNCING target after it; tail: serving
    with no successor."""
    ps = public.get(str(tid))
    serving = ps in (SERVING, SYNCING)
    succ = None
    if serving:
        for t in tids[tids.index(tid) + 1:]:
            if public.get(str(t)) in (SERVING, SYNCING):
                succ = t
                break
    return serving and tids[0] == tid, serving and succ is None, succ


def chain_status(publics):
    """ListChains.cc: SYNCING if a target syncs, SERVING if all serve,
    UNAVAILABLE if none does, else SERVING(n/k)."""
    serving = sum(p == SERVING for p in publics)
    if any(p == SYNCING for p in publics):
        return "SYNCING"
    if serving == len(publics):
        return "SERVING"
    if serving == 0:
        return "UNAVAILABLE"
    return f"SERVING({serving}/{len(publics)})"


def io_targets(routing, cid, write):
    """[(target id, (host, port), chain version)] a client sends a chunk
    request of chain cid to: its SERVING targets, for a write also its
    SYNCING ones, in chain order (CRAQ passes a write from the head to each
    successor, a syncing one included; reads are served by SERVING targets:
    src/storage/service/ReliableForwarding.cc, src/client/storage/
    StorageClientImpl.cc). None when the chain is unknown; a target without
    a node in the routing info raises KeyError."""
    ch = routing["chains"].get(str(cid))
    if ch is None:
        return None
    want = (SERVING, SYNCING) if write else (SERVING,)
    out = []
    for tid in ch["targets"]:
        if ch.get("public", {}).get(str(tid), SERVING) in want:
            node = routing["nodes"][str(routing["targets"][str(tid)]["node_id"])]
            out.append((tid, (node["host"], node["tcp_port"]), ch["version"]))
    return out
