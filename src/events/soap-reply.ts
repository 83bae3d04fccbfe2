const ENVELOPE_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>';
const ENVELOPE_CLOSE = '</soapenv:Body></soapenv:Envelope>';

/** The only answer Salesforce treats as delivered; anything else is retried for up to 24 hours. */
export const SOAP_ACK =
  ENVELOPE_OPEN +
  '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>' +
  ENVELOPE_CLOSE;

/** SOAP 1.1 fault: `Client` when the sender must change something, `Server` when it is our trouble. */
export function soapFault(kind: 'Client' | 'Server', code: string, message: string): string {
  return (
    ENVELOPE_OPEN +
    `<soapenv:Fault><faultcode>soapenv:${kind}</faultcode><faultstring>${escapeXml(`${code}: ${message}`)}</faultstring></soapenv:Fault>` +
    ENVELOPE_CLOSE
  );
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
