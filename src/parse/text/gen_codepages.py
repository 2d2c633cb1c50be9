# Generates src/parse/text/codepages.rs from Python's codec tables, the ones feedparser
# decodes with: python3 src/parse/text/gen_codepages.py src/parse/text/codepages.rs
# (Python 3.11; a label resolves to WHATWG encodings where encoding_rs has them).
import encodings.aliases as A, importlib, pkgutil, encodings, re, sys
WEB = {  # Python codec -> WHATWG label (encoding_rs decodes these)
 'ascii':'us-ascii','latin_1':'iso-8859-1','utf_8':'utf-8','utf_8_sig':'utf-8',
 'koi8_r':'koi8-r','koi8_u':'koi8-u','mac_roman':'macintosh','mac_cyrillic':'x-mac-cyrillic',
 'cp866':'ibm866','cp874':'windows-874','tis_620':'windows-874','iso8859_11':'windows-874',
 'big5':'big5','big5hkscs':'big5-hkscs','cp950':'big5','gb2312':'gbk','gbk':'gbk','cp936':'gbk',
 'gb18030':'gb18030','euc_kr':'euc-kr','cp949':'euc-kr','euc_jp':'euc-jp','euc_jis_2004':'euc-jp',
 'euc_jisx0213':'euc-jp','shift_jis':'shift_jis','cp932':'shift_jis','shift_jis_2004':'shift_jis',
 'shift_jisx0213':'shift_jis','iso2022_jp':'iso-2022-jp',
 'utf_16':'utf-16','utf_16_le':'utf-16le','utf_16_be':'utf-16be',
}
for i in range(1250,1259): WEB[f'cp{i}']=f'windows-{i}'
for i in (1,2,3,4,5,6,7,8,9,10,13,14,15,16): WEB[f'iso8859_{i}']=f'iso-8859-{i}' if i!=1 else 'iso-8859-1'
WIDE = {'utf_32':'Utf32','utf_32_le':'Utf32Le','utf_32_be':'Utf32Be'}
names = set(A.aliases.values()) | {n for _,n,_ in pkgutil.iter_modules(encodings.__path__)}
tables = {}
def table(m):
    try: mod = importlib.import_module('encodings.'+m)
    except Exception: return None
    dt = getattr(mod,'decoding_table',None)
    if not (isinstance(dt,str) and len(dt)==256): return None
    ebcdic = dt[0x40] == ' '
    vals = []
    for i,c in enumerate(dt):
        o = ord(c)
        if o == 0xFFFE: o = 0xFFFD
        if ebcdic and o == 0x85: o = 0x0A  # NEL ends a line in EBCDIC text
        vals.append(o)
    ascii_compatible = all(vals[i]==i for i in range(128))
    return ('High', vals[128:]) if ascii_compatible else ('Full', vals)
def target(m):
    if m in WEB: return f'Web("{WEB[m]}")'
    if m in WIDE: return WIDE[m]
    t = table(m)
    if t is None: return None
    tables[m] = t
    return f'{t[0]}(&{m.upper()})'
keys = {}
def add(alias, m):
    key = re.sub(r'[^0-9a-z]', '', alias.lower())
    t = target(m)
    if t is None or not key: return
    if key in keys and keys[key][1] != t:
        print('collision', key, keys[key], (m,t), file=sys.stderr); return
    keys[key] = (m, t)
for m in sorted(names): add(m, m)
for alias, m in sorted(A.aliases.items()): add(alias, m)
out = ['// Made by gen_codepages.py beside this file from the decoding tables of',
 '// Python 3.11\'s codecs, the ones feedparser decodes with; bytes a code page',
 '// leaves undefined become U+FFFD, and EBCDIC\'s NEL a line feed.',
 '// Regenerate rather than edit by hand.',
'',
 'use super::charset::Alias::{self, *};','',
 '/// Encoding labels as Python spells them, reduced to lowercase letters and digits,',
 '/// sorted for a binary search.',
 f'pub(super) static ALIASES: [(&str, Alias); {len(keys)}] = [']
for k in sorted(keys): out.append(f'    ("{k}", {keys[k][1]}),')
out.append('];')
for m in sorted(tables):
    kind, vals = tables[m]
    out.append('')
    out.append(f'pub(super) static {m.upper()}: [u16; {len(vals)}] = [')
    for i in range(0, len(vals), 12):
        out.append('    ' + ' '.join(f'0x{v:04X},' for v in vals[i:i+12]))
    out.append('];')
open(sys.argv[1],'w').write('\n'.join(out)+'\n')
print(len(keys),'aliases',len(tables),'tables', file=sys.stderr)
