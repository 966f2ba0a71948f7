import{a0 as s}from"./Dy4pZLbY.js";const t=s("/favicon.svg");export{t as _};
