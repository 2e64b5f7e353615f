#!/usr/bin/python3
"""Official proxy fixtures on seeded random networks of the ops issue 13 names (convolutions with kernels 1 / 3 / 5,
strides, padding, dilation, groups, depthwise, biases; train-mode BatchNorm with its own eps, momentum, affine or
not; nn.ReLU; average and max pools with padding, count_include_pad and ceil mode; residual adds; concatenation;
channel slices; a global average pool and a Linear head, with or without a hidden layer), at 16x16 or 12x20.

Each network is a program over a register file drawn from its seed; `fixture` of scripts/make_proxy_fixtures.py
exports it with its weights and records every official proxy (the same checkouts, given on the command line), into
test/fixtures/proxies/expected.json as `fz<seed>`, beside the hand-written fixtures (merged, the others unchanged).
Non-square networks run AZ-NAS, ZenNAS and VKDNW at 12x12 (their random inputs are square) and NASLib's zen at
12x20. Each BatchNorm's momentum is written into the exported files in execution order.

The default seeds are four of sixteen a helper checked against the official code (session 26): the others hold
official float32 effects that the float64 reruns of the official code settle (docs/zero-cost-proxies.md).

Usage: /usr/bin/python3 scripts/make_fuzz_fixtures.py --zc ... --naslib ... --zico ... --meco ... --aznas ...
       --vkdnw ... --zennas ... [--seeds 1001,1005,1010,1015] [--describe]
"""
import argparse
import copy
import json
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_proxy_fixtures as M  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

SEEDS = [1001, 1005, 1010, 1015]


def conv_out(h, k, s, p, d):
    return (h + 2 * p - d * (k - 1) - 1) // s + 1


def pool_out(h, k, s, p, ceil=False):
    if not ceil:
        return (h + 2 * p - k) // s + 1
    o = -(-(h + 2 * p - k) // s) + 1
    if (o - 1) * s >= h + p:
        o -= 1
    return o


class FuzzNet(M.PooledHead, nn.Module):
    """Interprets a program of (kind, dst, srcs, module-names/args) over a register file."""

    def __init__(self, seed, hw):
        super().__init__()
        r = random.Random(seed)
        self.desc = []
        self.prog = []
        self.feat_regs = []
        self.n = 0
        H, W = hw
        shapes = {'in': (3, H, W)}
        cur = 'in'
        convs = 0
        max_convs = r.randint(3, 8)
        self.bn_momenta = {}

        def name(p):
            self.n += 1
            return f'{p}{self.n}'

        def reg(shape):
            nm = f'r{len(shapes)}'
            shapes[nm] = shape
            return nm

        def add_mod(prefix, mod):
            nm = name(prefix)
            setattr(self, nm, mod)
            return nm

        def make_bn(c):
            eps = r.choice([1e-5, 1e-3])
            mom = r.choice([0.1, 0.01])
            aff = r.random() < 0.75
            bn = nn.BatchNorm2d(c, eps=eps, momentum=mom, affine=aff)
            if r.random() < 0.3:
                with torch.no_grad():
                    bn.running_mean.normal_(0, 0.3)
                    bn.running_var.uniform_(0.5, 2.0)
            if aff and r.random() < 0.3:
                with torch.no_grad():
                    bn.weight.uniform_(0.5, 1.5)
                    bn.bias.uniform_(-0.2, 0.2)
            nm = add_mod('bn', bn)
            self.bn_momenta[nm] = mom
            self.desc.append(f'bn(eps={eps},m={mom},aff={int(aff)})')
            return nm

        def conv_params(cin, h, w, same=False, stride1=False):
            for _ in range(100):
                k = r.choice([1, 3, 5])
                s = 1 if (same or stride1) else r.choice([1, 1, 2])
                d = r.choice([1, 1, 2]) if k > 1 else 1
                if same:
                    if (d * (k - 1)) % 2:
                        continue
                    p = d * (k - 1) // 2
                    if p > k // 2 and d == 1:
                        continue
                else:
                    p = r.randint(0, k // 2)
                ho, wo = conv_out(h, k, s, p, d), conv_out(w, k, s, p, d)
                if min(ho, wo) < 2:
                    continue
                return k, s, p, d, ho, wo
            return 1, 1, 0, 1, h, w

        def conv_unit(src, cout=None, same=False, relu=None, bn=None):
            nonlocal convs
            cin, h, w = shapes[src]
            k, s, p, d, ho, wo = conv_params(cin, h, w, same)
            gk = r.random()
            if cout is None:
                cout = r.choice([4, 6, 8, 12, 16, 24, 32])
            groups = 1
            if gk < 0.25 and cin > 1:
                groups = cin
                if cout is None or cout % cin:
                    cout = cin * r.choice([1, 2]) if not same else cout
                if cout % cin:
                    groups = 1
            elif gk < 0.45:
                divs = [g for g in range(2, min(cin, cout) + 1) if cin % g == 0 and cout % g == 0]
                if divs:
                    groups = r.choice(divs)
            cout = min(cout, 32)
            if cout % groups or cin % groups:
                groups = 1
            bias = r.random() < 0.4
            m = nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=groups, bias=bias)
            nm = add_mod('conv', m)
            convs += 1
            self.desc.append(f'conv{cin}->{cout} k{k}s{s}p{p}d{d}g{groups}{"b" if bias else ""}')
            out = reg((cout, ho, wo))
            self.prog.append(('mod', out, [src], nm))
            cur_ = out
            if bn if bn is not None else r.random() < 0.8:
                b = make_bn(cout)
                o2 = reg(shapes[cur_])
                self.prog.append(('mod', o2, [cur_], b))
                cur_ = o2
            if relu if relu is not None else r.random() < 0.8:
                cur_ = relu_unit(cur_)
            return cur_

        def relu_unit(src):
            nm = add_mod('relu', nn.ReLU())
            o = reg(shapes[src])
            self.prog.append(('mod', o, [src], nm))
            self.desc.append('relu')
            return o

        def pool_unit(src, same=False):
            c, h, w = shapes[src]
            for _ in range(100):
                k = r.choice([2, 3])
                s = 1 if same else r.choice([1, 2])
                p = r.randint(0, k // 2)
                if same:
                    if k != 3:
                        continue
                    p = 1
                ceil = (not same) and r.random() < 0.15
                ho, wo = pool_out(h, k, s, p, ceil), pool_out(w, k, s, p, ceil)
                if min(ho, wo) >= 2:
                    break
            else:
                return src
            if r.random() < 0.5:
                cip = r.random() < 0.5
                m = nn.AvgPool2d(k, s, p, ceil_mode=ceil, count_include_pad=cip)
                self.desc.append(f'avg k{k}s{s}p{p}{" ceil" if ceil else ""} cip={int(cip)}')
            else:
                m = nn.MaxPool2d(k, s, p, ceil_mode=ceil)
                self.desc.append(f'max k{k}s{s}p{p}{" ceil" if ceil else ""}')
            nm = add_mod('pool', m)
            o = reg((c, ho, wo))
            self.prog.append(('mod', o, [src], nm))
            return o

        cur = conv_unit('in')
        self.feat_regs.append(cur)
        steps = 0
        while convs < max_convs and steps < 12:
            steps += 1
            c, h, w = shapes[cur]
            kind = r.choice(['conv', 'conv', 'pool', 'res', 'res', 'cat', 'slice', 'relu'])
            if kind == 'conv':
                cur = conv_unit(cur)
            elif kind == 'pool':
                cur = pool_unit(cur)
            elif kind == 'relu':
                cur = relu_unit(cur)
            elif kind == 'slice':
                if c < 4:
                    continue
                a = r.randint(0, c // 2 - 1)
                b = r.randint(a + 2, c)
                o = reg((b - a, h, w))
                self.prog.append(('slice', o, [cur], (a, b)))
                self.desc.append(f'slice[{a}:{b}]')
                cur = o
            elif kind == 'res':
                self.desc.append('res(')
                br = conv_unit(cur, cout=c, same=True, relu=r.random() < 0.5)
                if r.random() < 0.4 and convs < max_convs:
                    br = conv_unit(br, cout=c, same=True, relu=False)
                if shapes[br] != shapes[cur]:
                    self.desc.append('[shape mismatch, dropped])')
                    cur = br
                    continue
                o = reg(shapes[cur])
                self.prog.append(('add', o, [cur, br], None))
                self.desc.append(')add')
                cur = o
                if r.random() < 0.5:
                    cur = relu_unit(cur)
            elif kind == 'cat':
                self.desc.append('cat(')
                if r.random() < 0.5:
                    br = pool_unit(cur, same=True)
                else:
                    br = conv_unit(cur, same=True)
                if shapes[br][1:] != shapes[cur][1:] or shapes[br][0] + c > 48:
                    self.desc.append('[dropped])')
                    cur = br
                    continue
                o = reg((c + shapes[br][0], h, w))
                order = [cur, br] if r.random() < 0.5 else [br, cur]
                self.prog.append(('cat', o, order, None))
                self.desc.append(')cat')
                cur = o
            # AZ-NAS block features: consecutive ones an integer downsampling apart, different tensors
            last = shapes[self.feat_regs[-1]]
            c2, h2, w2 = shapes[cur]
            if cur != self.feat_regs[-1] and r.random() < 0.6 and last[1] % h2 == 0 and last[2] % w2 == 0 \
                    and last[1] // h2 == last[2] // w2:
                self.feat_regs.append(cur)
        if r.random() < 0.5:
            cur = conv_unit(cur, relu=True)
        self.pre = cur
        c = shapes[cur][0]
        self.gap = nn.AdaptiveAvgPool2d(1)
        if r.random() < 0.4:
            hid = r.choice([8, 16, 24])
            b = r.random() < 0.5
            self.hidden = nn.Linear(c, hid, bias=b)
            self.hidden_relu = nn.ReLU()
            self.desc.append(f'gap-lin{c}->{hid}{"b" if b else ""}-relu')
            c = hid
        b = r.random() < 0.8
        self.fc = nn.Linear(c, 10, bias=b)
        self.desc.append(f'fc{c}->10{"b" if b else ""}')
        self.shapes = shapes

    def features(self, x):
        regs = {'in': x}
        for kind, dst, srcs, arg in self.prog:
            if kind == 'mod':
                regs[dst] = getattr(self, arg)(regs[srcs[0]])
            elif kind == 'slice':
                regs[dst] = regs[srcs[0]][:, arg[0]:arg[1]]
            elif kind == 'add':
                regs[dst] = regs[srcs[0]] + regs[srcs[1]]
            elif kind == 'cat':
                regs[dst] = torch.cat([regs[s] for s in srcs], 1)
        return [regs[f] for f in self.feat_regs], regs[self.pre]

    def filter_features(self, shape):
        """Keep a chain of block features an integer downsampling apart at this input shape (AZ-NAS)."""
        if self.pre not in self.feat_regs:
            self.feat_regs.append(self.pre)
        with torch.no_grad():
            feats, _ = copy.deepcopy(self).features(torch.zeros(shape))
        keep = [0]
        for i in range(1, len(feats)):
            a, b = feats[keep[-1]].shape, feats[i].shape
            if a[2] % b[2] == 0 and a[3] % b[3] == 0 and a[2] // b[2] == a[3] // b[3]:
                keep.append(i)
        if len(keep) < 2:
            # every register of the program as a candidate, the longest greedy chain from any start
            regs = [d for _, d, _, _ in self.prog]
            with torch.no_grad():
                sh = {}
                m = copy.deepcopy(self)
                old = m.feat_regs
                m.feat_regs = regs
                for r_, f_ in zip(regs, m.features(torch.zeros(shape))[0]):
                    sh[r_] = f_.shape
            best = []
            for st in range(len(regs)):
                ch = [regs[st]]
                for r_ in regs[st + 1:]:
                    a, b = sh[ch[-1]], sh[r_]
                    if a[2] % b[2] == 0 and a[3] % b[3] == 0 and a[2] // b[2] == a[3] // b[3]:
                        ch.append(r_)
                if len(ch) > len(best):
                    best = ch
            self.feat_regs = best[:: max(1, len(best) // 4)][:5]
            return
        self.feat_regs = [self.feat_regs[i] for i in keep]

    def head(self, pre):
        z = torch.flatten(self.gap(pre), 1)
        if hasattr(self, 'hidden'):
            z = self.hidden_relu(self.hidden(z))
        return self.fc(z)

    def forward(self, x):
        return self.head(self.forward_pre_GAP(x))


def hw_of(seed):
    return (12, 20) if seed % 3 == 2 else (16, 16)


def crop(x, hw):
    H, W = hw
    return x[:, :, 8:8 + H, 6:6 + W].contiguous() if hw == (12, 20) else x[:, :, 8:24, 8:24].contiguous()


def bn_order(net, x):
    """BatchNorm2d module names in execution order (= BatchNormalization node order in the ONNX graph)."""
    order = []
    m2 = copy.deepcopy(net)
    for nm, m in m2.named_modules():
        if isinstance(m, nn.BatchNorm2d):
            m.register_forward_hook(lambda mod, i, o, nm=nm: order.append(nm))
    with torch.no_grad():
        m2(x)
    return order


def write_momenta(name, momenta):
    path = os.path.join(M.OUT, name)
    raw = bytearray(open(path, 'rb').read())
    key, n, i = b'\x0a\x08momentum\x15', 0, 0
    while (i := raw.find(key, i)) >= 0:
        j = i + len(key)
        assert struct.unpack('<f', raw[j:j + 4])[0] == 1.0
        raw[j:j + 4] = struct.pack('<f', 1.0 - momenta[n])
        n, i = n + 1, j + 4
    assert n == len(momenta), (name, n, len(momenta))
    open(path, 'wb').write(bytes(raw))


def build(off, seed):
    hw = hw_of(seed)
    torch.manual_seed(seed)
    net = FuzzNet(seed, hw).train()
    r = random.Random(seed * 7 + 1)
    o1, o2 = r.randint(0, 12), r.randint(0, 12)
    x, y = M.cifar(8, o1)
    x2, y2 = M.cifar(8, o2)
    x, x2 = crop(x, hw), crop(x2, hw)
    rs = (8, 3, hw[0], hw[0])
    net.filter_features(rs)
    # ZenNAS's own init fills every BatchNorm2d's weight: it raises on affine=False
    zn = all(m.affine for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    square = hw[0] == hw[1]
    e = M.fixture(off, f'fz{seed}', net, x, y, x2, y2, 10, 100 * (seed + 2), zennas=zn, rand_shape=rs, zen=square)
    if not square:
        z, (zm, zx, zmix) = M.run_zen_naslib(off, net, torch.zeros((8, 3) + hw), y, 100 * (seed + 2))
        name = f'fz{seed}'
        e['zen_naslib'] = {'value': z, 'onnx': M.export(zm, f'{name}-zen.onnx', zx),
                           'inputs': M.save_npy(f'{name}-zen-x.npy', zx), 'mixup': M.save_npy(f'{name}-zen-mix.npy', zmix)}
    order = bn_order(net, x)
    moms = [net.bn_momenta[nm] for nm in order]
    if moms:
        files = [e['onnx'], e['az']['onnx'], e['vkdnw']['onnx']] + [e[k]['onnx'] for k in ('zen_naslib', 'zen_zennas') if k in e]
        for f_ in files:
            write_momenta(f_, moms)
    e['desc'] = ' '.join(net.desc)
    e['hw'] = list(hw)
    e['features_shapes'] = [list(net.shapes[f]) for f in net.feat_regs]
    return e


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for k in ("zc", "naslib", "zico", "meco", "aznas", "vkdnw", "zennas"):
        p.add_argument(f"--{k}", required=True, help=f"checkout of the official {k} repository")
    p.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="comma-separated network seeds")
    p.add_argument("--describe", action="store_true", help="print each network's layers and stop")
    a = p.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    if a.describe:
        for s in seeds:
            torch.manual_seed(s)
            n = FuzzNet(s, hw_of(s))
            print(s, hw_of(s), " ".join(n.desc))
        return
    torch.set_num_threads(1)
    off = M.load_official(a)
    path = os.path.join(M.OUT, "expected.json")
    with open(path) as fh:
        out = json.load(fh)
    for s in seeds:
        out["fixtures"][f"fz{s}"] = build(off, s)
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
