import { once } from 'node:events';
import { createWriteStream, WriteStream } from 'node:fs';
import { stringify, Stringifier } from 'csv-stringify';
import ExcelJS from 'exceljs';
import { ExportFormat } from './records.inputs';

/** One row of an export: a message with its conversation. */
export interface ExportRow {
  conversationId: string;
  conversationCreatedAt: string;
  archived: boolean;
  customerId: string;
  agentId: string | null;
  departmentId: string | null;
  status: string;
  priority: string;
  intent: string | null;
  rating: number | null;
  seq: number;
  messageId: string;
  senderRole: string | null;
  kind: string;
  sentAt: string;
  content: string;
  piiTypes: string;
}

export const EXPORT_COLUMNS: ReadonlyArray<keyof ExportRow> = [
  'conversationId',
  'conversationCreatedAt',
  'archived',
  'customerId',
  'agentId',
  'departmentId',
  'status',
  'priority',
  'intent',
  'rating',
  'seq',
  'messageId',
  'senderRole',
  'kind',
  'sentAt',
  'content',
  'piiTypes',
];

export const EXTENSIONS: Record<ExportFormat, string> = { CSV: 'csv', XLSX: 'xlsx', JSONL: 'jsonl' };
export const CONTENT_TYPES: Record<ExportFormat, string> = {
  CSV: 'text/csv; charset=utf-8',
  XLSX: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  JSONL: 'application/x-ndjson; charset=utf-8',
};

/** Writes rows to a file as they come, waiting whenever the file stream is behind: memory stays flat. */
export interface ExportWriter {
  write(row: ExportRow): Promise<void>;
  /** Flushes everything and closes the file. */
  end(): Promise<void>;
  /** Closes the file without finishing it (the caller removes it). */
  abort(): void;
}

export function openExportWriter(format: ExportFormat, file: string): ExportWriter {
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  switch (format) {
    case ExportFormat.CSV:
      return csvWriter(out);
    case ExportFormat.JSONL:
      return jsonlWriter(out);
    case ExportFormat.XLSX:
      return xlsxWriter(out);
  }
}

async function written(stream: WriteStream, ok: boolean): Promise<void> {
  if (!ok) await once(stream, 'drain');
}

async function closed(stream: WriteStream): Promise<void> {
  if (stream.closed) return;
  await once(stream, 'close');
}

function csvWriter(out: WriteStream): ExportWriter {
  // A BOM, so that spreadsheet programs read the Chinese text as UTF-8.
  const csv: Stringifier = stringify({ header: true, columns: EXPORT_COLUMNS as string[], bom: true, cast: { boolean: (b) => String(b) } });
  csv.pipe(out);
  return {
    async write(row) {
      if (!csv.write(row)) await once(csv, 'drain');
    },
    async end() {
      csv.end();
      await closed(out);
    },
    abort() {
      csv.destroy();
      out.destroy();
    },
  };
}

function jsonlWriter(out: WriteStream): ExportWriter {
  return {
    write: (row) => written(out, out.write(`${JSON.stringify(row)}\n`)),
    async end() {
      out.end();
      await closed(out);
    },
    abort: () => out.destroy(),
  };
}

function xlsxWriter(out: WriteStream): ExportWriter {
  // exceljs' streaming writer: each committed row is zipped out and forgotten; no shared strings table in memory.
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false, useStyles: false });
  const sheet = workbook.addWorksheet('conversations');
  sheet.columns = EXPORT_COLUMNS.map((key) => ({ header: key, key }));
  return {
    async write(row) {
      sheet.addRow(row).commit();
      if (out.writableNeedDrain) await once(out, 'drain');
    },
    async end() {
      sheet.commit();
      await workbook.commit();
      await closed(out);
    },
    abort: () => out.destroy(),
  };
}
