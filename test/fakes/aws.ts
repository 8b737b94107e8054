// Local fake IMDS and EC2 endpoints that speak the real wire formats: IMDSv2 (PUT token, then GETs with
// the token header; GETs without one are refused), and the EC2 Query API (form-encoded Action=…&
// Version=2016-11-15, SigV4-signed; XML answers in the EC2 namespace, nextToken pagination,
// RequestLimitExceeded and UnauthorizedOperation errors).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

async function listen(server: Server, host: string): Promise<string> {
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => resolve(b));
  });
}

/** An HTTP server on a free loopback port, answering with `handle`. */
export abstract class FakeServer {
  url = '';
  /** As before the network is up: every connection is reset, nothing answered. */
  asleep = false;
  private readonly server: Server = createServer((req, res) => (this.asleep ? req.socket.destroy() : void this.handle(req, res)));

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;

  /** Listen on a free port of `host` (loopback, or a test's veth address a namespace can reach). */
  async start(host = '127.0.0.1'): Promise<this> {
    this.url = await listen(this.server, host);
    return this;
  }

  stop(): Promise<void> {
    return new Promise((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }
}

export interface ImdsData {
  region: string;
  zone: string;
  zoneId: string;
  instanceId: string;
  /** identity-credentials/ec2/info's AccountId, where given */
  accountId?: string;
  interfaces: { interfaceId?: string; mac: string; vpcId: string; subnetId: string; subnet4: string; subnet6?: string; vpc4: string; local4: string[]; local6?: string[]; public4?: string[]; prefix4?: string[]; prefix6?: string[] }[];
}

export class FakeImds extends FakeServer {
  tokenRequests = 0;
  getsWithoutToken = 0;
  gets = 0;
  private readonly tokens = new Set<string>();

  constructor(public data: ImdsData) {
    super();
  }

  private tree(): Map<string, string> {
    const d = this.data;
    const t = new Map<string, string>([
      ['placement/region', d.region],
      ['placement/availability-zone', d.zone],
      ['placement/availability-zone-id', d.zoneId],
      ['instance-id', d.instanceId],
      ['network/interfaces/macs/', d.interfaces.map((i) => `${i.mac}/`).join('\n')],
    ]);
    if (d.accountId) t.set('identity-credentials/ec2/info', JSON.stringify({ Code: 'Success', LastUpdated: '2026-12-06T00:00:00Z', AccountId: d.accountId }));
    for (const i of d.interfaces) {
      const b = `network/interfaces/macs/${i.mac}/`;
      t.set(`${b}vpc-id`, i.vpcId);
      if (i.interfaceId) t.set(`${b}interface-id`, i.interfaceId);
      t.set(`${b}subnet-id`, i.subnetId);
      t.set(`${b}subnet-ipv4-cidr-block`, i.subnet4);
      if (i.subnet6) t.set(`${b}subnet-ipv6-cidr-blocks`, i.subnet6);
      t.set(`${b}vpc-ipv4-cidr-blocks`, i.vpc4);
      t.set(`${b}local-ipv4s`, i.local4.join('\n'));
      if (i.local6) t.set(`${b}ipv6s`, i.local6.join('\n'));
      if (i.public4) t.set(`${b}public-ipv4s`, i.public4.join('\n'));
      if (i.prefix4) t.set(`${b}ipv4-prefix`, i.prefix4.join('\n'));
      if (i.prefix6) t.set(`${b}ipv6-prefix`, i.prefix6.join('\n'));
    }
    return t;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await body(req);
    // the SDK joins the endpoint's path "/" and "/latest/…": like IMDS, take repeated slashes as one
    const url = (req.url ?? '').replace(/^\/+/, '/');
    if (req.method === 'PUT' && url === '/latest/api/token') {
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!(ttl >= 1 && ttl <= 21600)) {
        res.writeHead(400).end();
        return;
      }
      this.tokenRequests++;
      const token = `token-${this.tokens.size}-${Math.random().toString(36).slice(2)}`;
      this.tokens.add(token);
      res.writeHead(200, { 'content-type': 'text/plain', 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) }).end(token);
      return;
    }
    if (req.method !== 'GET' || !url.startsWith('/latest/meta-data/')) {
      res.writeHead(405).end();
      return;
    }
    const token = req.headers['x-aws-ec2-metadata-token'];
    if (typeof token !== 'string' || !this.tokens.has(token)) {
      // IMDSv2 required: an IMDSv1 request is refused
      this.getsWithoutToken++;
      res.writeHead(401).end();
      return;
    }
    this.gets++;
    const value = this.tree().get(url.slice('/latest/meta-data/'.length));
    if (value === undefined) {
      res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body><h1>404 - Not Found</h1></body></html>');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(value);
  }
}

export interface Ec2Subnet {
  id: string;
  vpc: string;
  cidr: string;
  ipv6?: string;
  zone: string;
  zoneId: string;
}

export interface Ec2Peering {
  id: string;
  requester: { vpc: string; cidrs: string[]; owner: string; region?: string };
  accepter: { vpc: string; cidrs: string[]; owner: string; region?: string };
}

export interface Ec2Route {
  /** IPv4 or IPv6 CIDR; or a prefix list id (pl-…) */
  dest: string;
  /** local, igw-…, nat-…, vpce-…, tgw-…, pcx-…, eni-… */
  target: string;
}

export interface Ec2Eni {
  id: string;
  zone: string;
  publicIp?: string;
  type?: string;
  vpc?: string;
  description?: string;
  privateIps?: string[];
  requesterManaged?: boolean;
  /** the instance it is attached to */
  instance?: string;
  subnet?: string;
}

export interface Ec2Data {
  zones: { name: string; id: string }[];
  subnets: Ec2Subnet[];
  peerings: Ec2Peering[];
  enis: Ec2Eni[];
  addresses: { publicIp: string; eni?: string }[];
  routeTables?: { id: string; vpc: string; main?: boolean; subnets: string[]; routes: Ec2Route[] }[];
  natGateways?: { id: string; vpc: string; subnet: string; privateIp: string; publicIp?: string; state?: string }[];
  vpcEndpoints?: { id: string; vpc: string; type: 'Interface' | 'Gateway' | 'GatewayLoadBalancer'; service: string; enis?: string[] }[];
  /** AWS-managed service prefix lists (DescribePrefixLists) */
  prefixLists?: { id: string; name: string; cidrs: string[] }[];
  /** customer-managed prefix lists (GetManagedPrefixListEntries) */
  managedPrefixLists?: { id: string; cidrs: string[] }[];
  /** site-to-site VPN connections (DescribeVpnConnections) */
  vpnConnections?: { id: string; vgw: string; state?: string }[];
  /** instances with their Name tags (DescribeInstances) */
  instances?: { id: string; name?: string }[];
}

const xmlEscape = (s: string): string => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
const el = (name: string, v: string | undefined): string => (v === undefined ? '' : `<${name}>${xmlEscape(v)}</${name}>`);
const set = (name: string, items: string[]): string => `<${name}>${items.map((i) => `<item>${i}</item>`).join('')}</${name}>`;

export class FakeEc2 extends FakeServer {
  /** Every request: action and its form parameters. */
  readonly requests: { action: string; params: URLSearchParams; authorization: string }[] = [];
  pageSize = 2;
  /** Errors to answer, in order, per action (e.g. two RequestLimitExceeded, then normal answers). */
  readonly failures = new Map<string, string[]>();
  /** Answer every request with a 500, as an outage would. */
  down = false;

  constructor(public data: Ec2Data) {
    super();
  }

  count(action: string): number {
    return this.requests.filter((r) => r.action === action).length;
  }

  private filters(p: URLSearchParams): Map<string, string[]> {
    const f = new Map<string, string[]>();
    for (let i = 1; p.has(`Filter.${i}.Name`); i++) {
      const values: string[] = [];
      for (let j = 1; p.has(`Filter.${i}.Value.${j}`); j++) values.push(p.get(`Filter.${i}.Value.${j}`)!);
      f.set(p.get(`Filter.${i}.Name`)!, values);
    }
    return f;
  }

  private page<T>(items: T[], p: URLSearchParams): { items: T[]; next?: string } {
    const start = Number(p.get('NextToken') ?? '0');
    const size = Math.min(Number(p.get('MaxResults') ?? this.pageSize), this.pageSize);
    const end = start + size;
    return { items: items.slice(start, end), next: end < items.length ? String(end) : undefined };
  }

  /** The items of the VPCs a `vpc-id` filter names (all without one), one page of them. */
  private ofVpcs<T extends { vpc?: string }>(items: T[] | undefined, f: Map<string, string[]>, p: URLSearchParams): { items: T[]; next?: string } {
    const vpcs = f.get('vpc-id');
    return this.page((items ?? []).filter((x) => !vpcs || (x.vpc !== undefined && vpcs.includes(x.vpc))), p);
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    res
      .writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' })
      .end(`<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error></Errors><RequestID>00000000-fake-0000-0000-000000000000</RequestID></Response>`);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const p = new URLSearchParams(await body(req));
    const action = p.get('Action') ?? '';
    const authorization = String(req.headers.authorization ?? '');
    this.requests.push({ action, params: p, authorization });
    if (this.down) {
      this.error(res, 500, 'InternalError', 'An internal error has occurred.');
      return;
    }
    if (req.method !== 'POST' || p.get('Version') !== '2016-11-15' || !authorization.startsWith('AWS4-HMAC-SHA256 ')) {
      this.error(res, 400, 'InvalidRequest', 'expected a SigV4-signed POST of the EC2 Query API, Version=2016-11-15');
      return;
    }
    const queued = this.failures.get(action);
    const fail = queued?.shift();
    if (fail === 'RequestLimitExceeded') return this.error(res, 503, fail, 'Request limit exceeded.');
    if (fail === 'UnauthorizedOperation') return this.error(res, 403, fail, 'You are not authorized to perform this operation.');
    const f = this.filters(p);
    let inner: string;
    let next: string | undefined;
    switch (action) {
      case 'DescribeAvailabilityZones':
        inner = set(
          'availabilityZoneInfo',
          this.data.zones.map((z) => el('zoneName', z.name) + el('zoneId', z.id) + el('zoneState', 'available') + el('regionName', 'us-east-1') + el('zoneType', 'availability-zone')),
        );
        break;
      case 'DescribeSubnets': {
        const vpcs = f.get('vpc-id');
        const all = this.data.subnets.filter((s) => !vpcs || vpcs.includes(s.vpc));
        const pg = this.page(all, p);
        next = pg.next;
        inner = set(
          'subnetSet',
          pg.items.map(
            (s) =>
              el('subnetId', s.id) +
              el('vpcId', s.vpc) +
              el('state', 'available') +
              el('cidrBlock', s.cidr) +
              el('availabilityZone', s.zone) +
              el('availabilityZoneId', s.zoneId) +
              set('ipv6CidrBlockAssociationSet', s.ipv6 ? [el('ipv6CidrBlock', s.ipv6) + `<ipv6CidrBlockState>${el('state', 'associated')}</ipv6CidrBlockState>`] : []),
          ),
        );
        break;
      }
      case 'DescribeVpcPeeringConnections': {
        const req = f.get('requester-vpc-info.vpc-id');
        const acc = f.get('accepter-vpc-info.vpc-id');
        const all = this.data.peerings.filter((pc) => (!req || req.includes(pc.requester.vpc)) && (!acc || acc.includes(pc.accepter.vpc)));
        const pg = this.page(all, p);
        next = pg.next;
        const info = (v: Ec2Peering['requester']): string =>
          el('vpcId', v.vpc) + el('ownerId', v.owner) + el('cidrBlock', v.cidrs.find((c) => !c.includes(':'))) + set('cidrBlockSet', v.cidrs.filter((c) => !c.includes(':')).map((c) => el('cidrBlock', c))) + set('ipv6CidrBlockSet', v.cidrs.filter((c) => c.includes(':')).map((c) => el('ipv6CidrBlock', c))) + el('region', v.region ?? 'us-east-1');
        inner = set(
          'vpcPeeringConnectionSet',
          pg.items.map((pc) => el('vpcPeeringConnectionId', pc.id) + `<requesterVpcInfo>${info(pc.requester)}</requesterVpcInfo><accepterVpcInfo>${info(pc.accepter)}</accepterVpcInfo><status>${el('code', 'active')}${el('message', 'Active')}</status>`),
        );
        break;
      }
      case 'DescribeNetworkInterfaces': {
        const wantPublic = f.get('association.public-ip');
        const vpcs = f.get('vpc-id');
        const managed = f.get('requester-managed');
        const ids = f.get('network-interface-id');
        const instances = f.get('attachment.instance-id');
        const all = this.data.enis.filter(
          (n) =>
            (!wantPublic || n.publicIp) &&
            (!vpcs || (n.vpc !== undefined && vpcs.includes(n.vpc))) &&
            (!managed || managed.includes(String(n.requesterManaged ?? false))) &&
            (!ids || ids.includes(n.id)) &&
            (!instances || (n.instance !== undefined && instances.includes(n.instance))),
        );
        const pg = this.page(all, p);
        next = pg.next;
        inner = set(
          'networkInterfaceSet',
          pg.items.map(
            (n) =>
              el('networkInterfaceId', n.id) +
              el('availabilityZone', n.zone) +
              el('vpcId', n.vpc) +
              el('subnetId', n.subnet) +
              el('description', n.description ?? '') +
              el('requesterManaged', String(n.requesterManaged ?? false)) +
              el('interfaceType', n.type ?? 'interface') +
              set('privateIpAddressesSet', (n.privateIps ?? []).filter((ip) => !ip.includes(':')).map((ip, i) => el('privateIpAddress', ip) + el('primary', String(i === 0)))) +
              set('ipv6AddressesSet', (n.privateIps ?? []).filter((ip) => ip.includes(':')).map((ip) => el('ipv6Address', ip))) +
              (n.publicIp ? `<association>${el('publicIp', n.publicIp)}</association>` : '') +
              (n.instance ? `<attachment>${el('instanceId', n.instance)}${el('status', 'attached')}</attachment>` : ''),
          ),
        );
        break;
      }
      case 'DescribeRouteTables': {
        const pg = this.ofVpcs(this.data.routeTables, f, p);
        next = pg.next;
        const route = (r: Ec2Route): string => {
          const dest = r.dest.startsWith('pl-') ? el('destinationPrefixListId', r.dest) : r.dest.includes(':') ? el('destinationIpv6CidrBlock', r.dest) : el('destinationCidrBlock', r.dest);
          const t = r.target;
          const target = t.startsWith('nat-') ? el('natGatewayId', t) : t.startsWith('tgw-') ? el('transitGatewayId', t) : t.startsWith('pcx-') ? el('vpcPeeringConnectionId', t) : t.startsWith('eni-') ? el('networkInterfaceId', t) : t.startsWith('i-') ? el('instanceId', t) : el('gatewayId', t);
          return dest + target + el('state', 'active') + el('origin', t === 'local' ? 'CreateRouteTable' : 'CreateRoute');
        };
        inner = set(
          'routeTableSet',
          pg.items.map(
            (t) =>
              el('routeTableId', t.id) +
              el('vpcId', t.vpc) +
              el('ownerId', '111122223333') +
              set('routeSet', t.routes.map(route)) +
              set('associationSet', [
                ...(t.main ? [el('routeTableAssociationId', `rtbassoc-main-${t.id}`) + el('routeTableId', t.id) + el('main', 'true') + `<associationState>${el('state', 'associated')}</associationState>`] : []),
                ...t.subnets.map((sn) => el('routeTableAssociationId', `rtbassoc-${sn}`) + el('routeTableId', t.id) + el('subnetId', sn) + el('main', 'false') + `<associationState>${el('state', 'associated')}</associationState>`),
              ]),
          ),
        );
        break;
      }
      case 'DescribeNatGateways': {
        const pg = this.ofVpcs(this.data.natGateways, f, p);
        next = pg.next;
        inner = set(
          'natGatewaySet',
          pg.items.map(
            (n) =>
              el('natGatewayId', n.id) +
              el('subnetId', n.subnet) +
              el('vpcId', n.vpc) +
              el('state', n.state ?? 'available') +
              el('connectivityType', n.publicIp ? 'public' : 'private') +
              set('natGatewayAddressSet', [el('privateIp', n.privateIp) + el('publicIp', n.publicIp) + el('networkInterfaceId', `eni-${n.id}`) + el('isPrimary', 'true') + el('status', 'succeeded')]),
          ),
        );
        break;
      }
      case 'DescribeVpcEndpoints': {
        const pg = this.ofVpcs(this.data.vpcEndpoints, f, p);
        next = pg.next;
        inner = set(
          'vpcEndpointSet',
          pg.items.map(
            (e) =>
              el('vpcEndpointId', e.id) + el('vpcEndpointType', e.type) + el('vpcId', e.vpc) + el('serviceName', e.service) + el('state', 'available') + set('networkInterfaceIdSet', (e.enis ?? []).map(xmlEscape)),
          ),
        );
        break;
      }
      case 'DescribePrefixLists': {
        const ids: string[] = [];
        for (let i = 1; p.has(`PrefixListId.${i}`); i++) ids.push(p.get(`PrefixListId.${i}`)!);
        const pg = this.page((this.data.prefixLists ?? []).filter((l) => ids.length === 0 || ids.includes(l.id)), p);
        next = pg.next;
        inner = set(
          'prefixListSet',
          pg.items.map((l) => el('prefixListId', l.id) + el('prefixListName', l.name) + set('cidrSet', l.cidrs.map(xmlEscape))),
        );
        break;
      }
      case 'GetManagedPrefixListEntries': {
        const list = (this.data.managedPrefixLists ?? []).find((l) => l.id === p.get('PrefixListId'));
        if (!list) return this.error(res, 400, 'InvalidPrefixListID.NotFound', `The prefix list ID '${p.get('PrefixListId')}' does not exist`);
        const pg = this.page(list.cidrs, p);
        next = pg.next;
        inner = set('entrySet', pg.items.map((c) => el('cidr', c)));
        break;
      }
      case 'DescribeVpnConnections': {
        const vgws = f.get('vpn-gateway-id');
        inner = set(
          'vpnConnectionSet',
          (this.data.vpnConnections ?? []).filter((c) => !vgws || vgws.includes(c.vgw)).map((c) => el('vpnConnectionId', c.id) + el('state', c.state ?? 'available') + el('type', 'ipsec.1') + el('vpnGatewayId', c.vgw)),
        );
        break;
      }
      case 'DescribeInstances': {
        const ids = f.get('instance-id');
        const pg = this.page((this.data.instances ?? []).filter((i) => !ids || ids.includes(i.id)), p);
        next = pg.next;
        inner = set(
          'reservationSet',
          pg.items.map((i) => el('reservationId', `r-${i.id.slice(2)}`) + set('instancesSet', [el('instanceId', i.id) + set('tagSet', i.name ? [el('key', 'Name') + el('value', i.name)] : [])])),
        );
        break;
      }
      case 'DescribeAddresses':
        inner = set(
          'addressesSet',
          this.data.addresses.map((a) => el('publicIp', a.publicIp) + el('domain', 'vpc') + el('allocationId', `eipalloc-${a.publicIp.replace(/\./g, '')}`) + el('networkInterfaceId', a.eni)),
        );
        break;
      default:
        return this.error(res, 400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
    }
    res
      .writeHead(200, { 'content-type': 'text/xml;charset=UTF-8' })
      .end(`<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>00000000-fake-0000-0000-000000000000</requestId>${inner}${el('nextToken', next)}</${action}Response>`);
  }
}
