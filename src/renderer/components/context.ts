import { createContext, useContext } from "react";
import type { DuetController } from "../controller.js";

export const ControllerContext = createContext<DuetController | null>(null);

export function useController(): DuetController {
  const controller = useContext(ControllerContext);
  if (!controller) throw new Error("DuetController missing");
  return controller;
}
