# Independent PyTorch rendering of the DARTS evaluation networks (NetworkCIFAR / NetworkImageNet, auxiliary head
# left out) to cross-check the parameter and MAC counts of src/spaces/darts/network.ts. Run with Debian's python3-torch:
#   /usr/bin/python3 bench/torch/darts_count.py
import torch, torch.nn as nn, sys, json
from collections import namedtuple
G = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')
V2 = G(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])
class RCB(nn.Sequential):
    def __init__(s, ci, co, k, st, p): super().__init__(nn.ReLU(), nn.Conv2d(ci, co, k, st, p, bias=False), nn.BatchNorm2d(co))
class Dil(nn.Sequential):
    def __init__(s, ci, co, k, st, p, d): super().__init__(nn.ReLU(), nn.Conv2d(ci, ci, k, st, p, dilation=d, groups=ci, bias=False), nn.Conv2d(ci, co, 1, bias=False), nn.BatchNorm2d(co))
class Sep(nn.Sequential):
    def __init__(s, ci, co, k, st, p): super().__init__(Dil(ci, ci, k, st, p, 1), Dil(ci, co, k, 1, p, 1))
class FR(nn.Module):
    def __init__(s, ci, co):
        super().__init__(); s.r = nn.ReLU(); s.c1 = nn.Conv2d(ci, co // 2, 1, 2, bias=False); s.c2 = nn.Conv2d(ci, co // 2, 1, 2, bias=False); s.bn = nn.BatchNorm2d(co)
    def forward(s, x): x = s.r(x); return s.bn(torch.cat([s.c1(x), s.c2(x[:, :, 1:, 1:])], 1))
class Id(nn.Module):
    def forward(s, x): return x
OPS = {
 'avg_pool_3x3': lambda C, st: nn.AvgPool2d(3, st, 1, count_include_pad=False),
 'max_pool_3x3': lambda C, st: nn.MaxPool2d(3, st, 1),
 'skip_connect': lambda C, st: Id() if st == 1 else FR(C, C),
 'sep_conv_3x3': lambda C, st: Sep(C, C, 3, st, 1), 'sep_conv_5x5': lambda C, st: Sep(C, C, 5, st, 2),
 'dil_conv_3x3': lambda C, st: Dil(C, C, 3, st, 2, 2), 'dil_conv_5x5': lambda C, st: Dil(C, C, 5, st, 4, 2)}
class Cell(nn.Module):
    def __init__(s, g, cpp, cp, C, red, redp):
        super().__init__()
        s.p0 = FR(cpp, C) if redp else RCB(cpp, C, 1, 1, 0); s.p1 = RCB(cp, C, 1, 1, 0)
        names, idx = zip(*(g.reduce if red else g.normal)); s.concat = g.reduce_concat if red else g.normal_concat
        s.ops = nn.ModuleList([OPS[n](C, 2 if red and i < 2 else 1) for n, i in zip(names, idx)]); s.idx = idx; s.mult = len(s.concat)
    def forward(s, s0, s1):
        st = [s.p0(s0), s.p1(s1)]
        for i in range(4):
            st.append(s.ops[2*i](st[s.idx[2*i]]) + s.ops[2*i+1](st[s.idx[2*i+1]]))
        return torch.cat([st[i] for i in s.concat], 1)
class NetImageNet(nn.Module):
    def __init__(s, C, classes, layers, g):
        super().__init__()
        s.stem0 = nn.Sequential(nn.Conv2d(3, C // 2, 3, 2, 1, bias=False), nn.BatchNorm2d(C // 2), nn.ReLU(), nn.Conv2d(C // 2, C, 3, 2, 1, bias=False), nn.BatchNorm2d(C))
        s.stem1 = nn.Sequential(nn.ReLU(), nn.Conv2d(C, C, 3, 2, 1, bias=False), nn.BatchNorm2d(C))
        cpp, cp, cc = C, C, C; s.cells = nn.ModuleList(); redp = True
        for i in range(layers):
            red = i in [layers // 3, 2 * layers // 3]
            if red: cc *= 2
            c = Cell(g, cpp, cp, cc, red, redp); redp = red; s.cells.append(c); cpp, cp = cp, c.mult * cc
        s.gp = nn.AvgPool2d(7); s.fc = nn.Linear(cp, classes)
    def forward(s, x):
        s0 = s.stem0(x); s1 = s.stem1(s0)
        for c in s.cells: s0, s1 = s1, c(s0, s1)
        return s.fc(s.gp(s1).flatten(1))
class NetCIFAR(nn.Module):
    def __init__(s, C, classes, layers, g):
        super().__init__()
        cs = 3 * C; s.stem = nn.Sequential(nn.Conv2d(3, cs, 3, padding=1, bias=False), nn.BatchNorm2d(cs))
        cpp, cp, cc = cs, cs, C; s.cells = nn.ModuleList(); redp = False
        for i in range(layers):
            red = i in [layers // 3, 2 * layers // 3]
            if red: cc *= 2
            c = Cell(g, cpp, cp, cc, red, redp); redp = red; s.cells.append(c); cpp, cp = cp, c.mult * cc
        s.fc = nn.Linear(cp, classes)
    def forward(s, x):
        s0 = s1 = s.stem(x)
        for c in s.cells: s0, s1 = s1, c(s0, s1)
        return s.fc(s1.mean((2, 3)))
def macs(net, size):
    tot = [0]
    def hook(m, i, o):
        if isinstance(m, nn.Conv2d): tot[0] += o.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear): tot[0] += m.in_features * m.out_features
    for m in net.modules(): m.register_forward_hook(hook)
    net.eval(); net(torch.zeros(1, 3, size, size)); return tot[0]
params = lambda n: sum(p.numel() for p in n.parameters())
a = NetImageNet(48, 1000, 14, V2); b = NetCIFAR(36, 10, 20, V2)
print(json.dumps({'imagenet_params': params(a), 'imagenet_macs': macs(a, 224), 'cifar_params': params(b), 'cifar_macs': macs(b, 32)}))
