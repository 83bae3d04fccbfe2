/**
 * Builds Outbound Messages in the exact shape Salesforce sends (see test/fixtures/outbound and
 * ../shared/fixtures/outbound), for tests and the benchmark.
 */
export interface NotificationSpec {
  id: string;
  sobjectType: string;
  /** Field name -> text, or null for xsi:nil. Values are XML-escaped here. */
  fields: Record<string, string | null>;
}

export interface MessageSpec {
  orgId: string;
  actionId?: string;
  sessionId?: string | null;
  partnerUrl?: string;
  notifications: NotificationSpec[];
}

export function buildOutboundMessage(spec: MessageSpec): string {
  const org = spec.orgId;
  const session = spec.sessionId ? `<SessionId>${escape(spec.sessionId)}</SessionId>` : '<SessionId xsi:nil="true"/>';
  const notifications = spec.notifications
    .map((n) => {
      const fields = Object.entries(n.fields)
        .map(([k, v]) => (v === null ? `<sf:${k} xsi:nil="true"/>` : `<sf:${k}>${escape(v)}</sf:${k}>`))
        .join('\n     ');
      return `
   <Notification>
    <Id>${n.id}</Id>
    <sObject xsi:type="sf:${n.sobjectType}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     ${fields}
    </sObject>
   </Notification>`;
    })
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>${org}</OrganizationId>
   <ActionId>${spec.actionId ?? '04k5g000000TESTAAA'}</ActionId>
   ${session}
   <EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/62.0/${org.slice(0, 15)}</EnterpriseUrl>
   <PartnerUrl>${spec.partnerUrl ?? `https://example.my.salesforce.com/services/Soap/u/62.0/${org.slice(0, 15)}`}</PartnerUrl>${notifications}
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>
`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A made-up but well-formed 15-character id with the given 3-character key prefix. */
export function fakeId(prefix: string, n: number): string {
  return `${prefix}5g${String(n).padStart(10, '0')}`.slice(0, 15);
}
